/**
 * Who is asking, and what they may do. Authorization is a pure function of the principal, the
 * action and the twin id, so every edge enforces the same table (CONTRACT §4).
 */
import type { Scope } from '../store/types.ts';
import { DoppelError } from '../errors.ts';

export type Principal =
  | { kind: 'admin' }
  | { kind: 'key'; id: string; scopes: readonly Scope[]; prefix: string | null }
  | { kind: 'device'; id: string; twin: string };

/**
 * - `twins:read` / `twins:write`: integrator access to a twin (or to listing, with twin undefined);
 * - `keys:admin`: managing API keys;
 * - `device:read` / `device:report`: a device's view of its twin and writing its reported state.
 */
export type Action = Scope | 'device:read' | 'device:report';

/** Why `principal` may not perform `action` (on `twin`, when given); null when it may. */
function denial(principal: Principal, action: Action, twin?: string): string | null {
  if (principal.kind === 'admin') return null;
  if (principal.kind === 'device') {
    if ((action === 'device:read' || action === 'device:report') && twin === principal.twin) return null;
    return twin !== undefined && twin !== principal.twin
      ? 'Forbidden: this device token belongs to another twin'
      : 'Forbidden: a device token may only read its own twin and write its reported state';
  }
  if (action === 'device:read') action = 'twins:read';
  if (action === 'device:report') return 'Forbidden: reported state is written with the device token of the twin (or the admin token)';
  if (!principal.scopes.includes(action)) return `Forbidden: this key lacks the "${action}" scope`;
  if (twin !== undefined && principal.prefix !== null && !twin.startsWith(principal.prefix)) {
    return `Forbidden: this key is limited to twins starting with "${principal.prefix}"`;
  }
  return null;
}

/** Throws `forbidden` unless `principal` may perform `action` (on `twin`, when given). */
export function authorize(principal: Principal, action: Action, twin?: string): void {
  const reason = denial(principal, action, twin);
  if (reason !== null) throw new DoppelError('forbidden', reason);
}

/** Whether `principal` may perform `action` (on `twin`, when given). */
export function can(principal: Principal, action: Action, twin?: string): boolean {
  return denial(principal, action, twin) === null;
}

/** The id prefix a principal's listings are confined to ('' for all). */
export function listingPrefix(principal: Principal): string {
  return principal.kind === 'key' && principal.prefix !== null ? principal.prefix : '';
}
