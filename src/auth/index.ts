/**
 * @module
 * Authentication and authorization: bearer tokens → principals (admin, API key, device), the
 * scope table every edge enforces, and per-credential rate limits. Runtime-neutral (Web Crypto).
 */
export { bearerToken } from './bearer.ts';
export { authorize, can, listingPrefix } from './principal.ts';
export type { Action, Principal } from './principal.ts';
export { createCredentials } from './credentials.ts';
export type { Credentials, CredentialLimits, KeyInfo } from './credentials.ts';
export { createRateLimiter } from './rate-limit.ts';
export type { RateLimit, RateLimiter } from './rate-limit.ts';
export { constantTimeEqual, hashSecret, newToken, parseToken, randomToken } from './tokens.ts';
export { createStreamQuota } from './stream-quota.ts';
export type { StreamQuota } from './stream-quota.ts';
