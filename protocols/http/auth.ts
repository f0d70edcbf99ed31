/**
 * Bearer authentication for the HTTP edge: the token's place is defined in src/auth/bearer.ts.
 */
import { bearerToken } from '../../src/auth/index.ts';
import type { Credentials, Principal } from '../../src/auth/index.ts';

export function authenticate(credentials: Credentials, request: Request, allowQuery = true): Promise<Principal> {
  return credentials.authenticate(bearerToken(request, allowQuery));
}
