/**
 * @module
 * The shapes of a twin as the core holds it, and of the change events it emits (CONTRACT §1–2).
 * Pure types: no I/O, no protocol.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

/** Which edge caused a change or last saw the device. */
export type Via = 'http' | 'coap' | 'ws' | 'system';

/** The sections of a twin a patch can write. */
export type Section = 'desired' | 'reported' | 'tags';

export interface LeafMeta { updatedAt: string }
/** Mirrors a document leaf by leaf: an object key maps to a subtree, a leaf to `{updatedAt}`. */
export interface MetadataTree { [key: string]: LeafMeta | MetadataTree }

/** A twin as stored and held by its actor. Times are ISO-8601 strings. */
export interface TwinState {
  id: string;
  version: number;
  desired: JsonObject;
  reported: JsonObject;
  /** Derived from desired and reported; kept so reads need not recompute it. */
  delta: JsonObject;
  tags: JsonObject;
  metadata: { desired: MetadataTree; reported: MetadataTree };
  /** When the delta last went from empty to non-empty; null while in sync. */
  pendingSince: string | null;
  /** The device's last contact that was persisted with a change (reads update it in memory only). */
  lastSeenAt: string | null;
  lastSeenVia: Via | null;
  /** Id of the twin's current device-token credential, never shown to clients. */
  tokenId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A patch as accepted by the core: each section a JSON Merge Patch (RFC 7396). */
export interface TwinPatch { desired?: JsonObject; reported?: JsonObject; tags?: JsonObject }

/** One accepted change (CONTRACT §2), stored in history and sent to subscribers. */
export interface ChangeEvent {
  twin: string;
  version: number;
  at: string;
  via: Via;
  clientToken?: string;
  patch: TwinPatch;
  delta: JsonObject;
}

export interface Connection { online: boolean; via: Via | null; lastSeenAt: string | null }

/** The twin as integrators see it (CONTRACT §1). */
export interface PublicTwin {
  id: string;
  version: number;
  desired: JsonObject;
  reported: JsonObject;
  delta: JsonObject;
  tags: JsonObject;
  metadata: { desired: MetadataTree; reported: MetadataTree };
  sync: { inSync: boolean; pendingSince?: string };
  connection: Connection;
  createdAt: string;
  updatedAt: string;
}

/** What a device may see of its own twin: no tags, no metadata. */
export interface DeviceView { version: number; desired: JsonObject; reported: JsonObject; delta: JsonObject }

/** Document limits (CONTRACT §1 defaults: 32 KiB, 32 KiB, 8 KiB, depth 10, keys ≤ 128). */
export interface DocumentLimits {
  desiredBytes: number;
  reportedBytes: number;
  tagsBytes: number;
  maxDepth: number;
  maxKeyLength: number;
}

export const DEFAULT_LIMITS: DocumentLimits = {
  desiredBytes: 32 * 1024,
  reportedBytes: 32 * 1024,
  tagsBytes: 8 * 1024,
  maxDepth: 10,
  maxKeyLength: 128,
};
