/**
 * @module
 * Value encoding for stored documents: CBOR (RFC 8949).
 *
 * Why CBOR rather than JSON: twins are mostly short keys, numbers and ISO strings, which CBOR
 * writes more compactly (a float is 9 bytes, a small int 1, no quoting or escaping) and cbor-x
 * encodes and decodes them faster than `JSON.stringify`/`JSON.parse` plus a UTF-8 pass — and
 * every commit encodes and every read decodes.
 *
 * Why these options: the stored bytes must stay plain, portable CBOR that a backup tool or
 * another language can read with any decoder. cbor-x's defaults would add its own extensions:
 * `useRecords` writes record-structure tags, and `mapsAsObjects` off decodes maps into `Map`.
 * With records off, maps decoded as plain objects and typed arrays untagged, a value is an
 * ordinary map/array/string/number tree. `variableMapSize` writes each map's length in the
 * shortest form (RFC 8949 §4.1 preferred serialization) instead of a fixed 16-bit one.
 */
import { Encoder } from 'cbor-x';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });

/**
 * Encodes a document. The result may be a view into a buffer cbor-x reuses for later encodings'
 * *free* space only, so it stays valid; it is handed to LevelDB, which copies it.
 */
export function encodeValue(value: unknown): Uint8Array {
  return cbor.encode(value);
}

/** Decodes a stored document into fresh plain objects (the caller may mutate them). */
export function decodeValue<T>(bytes: Uint8Array): T {
  return cbor.decode(bytes) as T;
}
