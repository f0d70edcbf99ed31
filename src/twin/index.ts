/**
 * @module
 * The pure twin math of Doppel (CONTRACT §1–2): ids, JSON helpers, JSON Merge Patch, delta,
 * metadata, document limits, the planning of creates and patches into a next state plus its
 * change event, the store ops of every command (removal, device credentials, history retention),
 * and a twin's connection. No I/O, no runtime, no protocol: the twin actor calls these and persists the result.
 */
export { assertTwinId, isTwinId, MAX_TWIN_ID_LENGTH } from './ids.ts';
export { deepEqual, isEmptyObject, isPlainObject, jsonByteLength } from './json.ts';
export { applyMergePatch } from './merge-patch.ts';
export { computeDelta } from './delta.ts';
export { metadataFor, updateMetadata } from './metadata.ts';
export { assertNoForbiddenKeys, assertSectionSize, FORBIDDEN_KEYS, validateSection } from './limits.ts';
export { planCreate, planPatch, withClearedSections } from './document.ts';
export { changeOps, expiredVersions, planDeviceCredential, planRemoval } from './lifecycle.ts';
export { connectionOf, storedConnection, storedContact } from './connection.ts';
export type { DeviceContact } from './connection.ts';
export { compactTwin } from './compact.ts';
export type { ChangeContext } from './document.ts';
export { selectFields, toDeviceView, toPublicTwin, TWIN_FIELDS } from './views.ts';
export { DEFAULT_LIMITS } from './types.ts';
export type {
  ChangeEvent, Connection, DeviceView, DocumentLimits, JsonObject, JsonPrimitive, JsonValue, LeafMeta,
  MetadataTree, PublicTwin, Section, TwinPatch, TwinState, Via,
} from './types.ts';
export { eventJson } from './event-json.ts';
export { publicTwinJson } from './twin-json.ts';
