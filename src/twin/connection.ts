/**
 * A twin's connection (CONTRACT §1 `connection`), computed purely from the device's last contact,
 * the device sessions attached to it, and the clock. The actor keeps the contact and the count;
 * a twin that is not resident only has what was persisted with its last change.
 */
import type { Connection, TwinState, Via } from './types.ts';

/** When and over which edge the device was last heard from (ms since the epoch). */
export interface DeviceContact { at: number; via: Via }

/** The contact persisted on the twin, if any (reads by the device update it in memory only). */
export function storedContact(state: TwinState): DeviceContact | null {
  if (state.lastSeenAt === null || state.lastSeenVia === null) return null;
  return { at: Date.parse(state.lastSeenAt), via: state.lastSeenVia };
}

/**
 * Online while a device session is attached, or within `livenessMs` of the last contact.
 *
 * @example
 * connectionOf({ at: now - 500, via: 'coap' }, 0, now, 1000); // → { online: true, via: 'coap', lastSeenAt: … }
 */
export function connectionOf(contact: DeviceContact | null, attached: number, now: number, livenessMs: number): Connection {
  if (contact === null) return { online: attached > 0, via: null, lastSeenAt: null };
  const online = attached > 0 || now - contact.at < livenessMs;
  return { online, via: contact.via, lastSeenAt: new Date(contact.at).toISOString() };
}

/** The connection of a twin that is not resident: only what was persisted, its timestamp as stored. */
export function storedConnection(state: TwinState, now: number, livenessMs: number): Connection {
  if (state.lastSeenAt === null) return { online: false, via: null, lastSeenAt: null };
  return { online: now - Date.parse(state.lastSeenAt) < livenessMs, via: state.lastSeenVia, lastSeenAt: state.lastSeenAt };
}
