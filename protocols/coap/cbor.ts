/**
 * A strict CBOR (RFC 8949) decoder for device payloads: it accepts exactly the JSON data model —
 * maps with text keys, arrays, text strings, finite numbers, booleans and null — and refuses
 * everything else (tags, byte strings, undefined, simple values, non-text keys) with
 * `invalid_document`. Objects are built with own data properties only, so a `__proto__` key is
 * an ordinary key the twin core then refuses; no prototype is ever set from input.
 *
 * Why not cbor-x's decoder: it turns tags into Dates/typed arrays/extension objects and maps with
 * odd keys into `Map`s, and its handling of `__proto__` depends on options. Checking its output
 * afterwards would walk the tree twice; this decoder is ~100 lines and refuses at the first bad byte.
 */
import { DoppelError } from '../../src/errors.ts';

/** Nesting bound of the decoder itself (the core's `--max-depth` is checked later, and is lower). */
const MAX_NESTING = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalid = (why: string) => new DoppelError('invalid_document', `Invalid CBOR: ${why}`);
const malformed = (why: string) => new DoppelError('invalid_request', `Malformed CBOR: ${why}`);

/**
 * Decodes one CBOR data item that must span all of `bytes`.
 *
 * @example
 * decodeCbor(Uint8Array.of(0xa1, 0x61, 0x61, 0x01)); // { a: 1 }
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const value = r.item(0);
  if (r.pos !== bytes.length) throw malformed('trailing bytes after the data item');
  return value;
}

const BREAK = Symbol('break');

class Reader {
  pos = 0;
  readonly #b: Uint8Array;
  readonly #view: DataView;
  constructor(b: Uint8Array) {
    this.#b = b;
    this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  #need(n: number): void { if (this.pos + n > this.#b.length) throw malformed('unexpected end of data'); }

  /** The argument of an initial byte (RFC 8949 §3): its value, or -1 for indefinite length. */
  #argument(info: number): number {
    if (info < 24) return info;
    const v = this.#view;
    let n: number;
    switch (info) {
      case 24: this.#need(1); n = v.getUint8(this.pos); this.pos += 1; return n;
      case 25: this.#need(2); n = v.getUint16(this.pos); this.pos += 2; return n;
      case 26: this.#need(4); n = v.getUint32(this.pos); this.pos += 4; return n;
      case 27: {
        this.#need(8);
        const big = v.getBigUint64(this.pos);
        this.pos += 8;
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('integer beyond 2^53');
        return Number(big);
      }
      case 31: return -1;
      default: throw malformed(`reserved additional information ${info}`);
    }
  }

  item(depth: number): unknown {
    const v = this.#any(depth);
    if (v === BREAK) throw malformed('unexpected break');
    return v;
  }

  #any(depth: number): unknown {
    if (depth > MAX_NESTING) throw new DoppelError('too_deep', `Too deep: CBOR nested over ${MAX_NESTING} levels`);
    this.#need(1);
    const initial = this.#b[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0: { const n = this.#argument(info); if (n < 0) throw malformed('indefinite integer'); return n; }
      case 1: { const n = this.#argument(info); if (n < 0) throw malformed('indefinite integer'); return -1 - n; }
      case 2: throw invalid('byte strings are not JSON values');
      case 3: return this.#text(info);
      case 4: {
        const n = this.#argument(info);
        const out: unknown[] = [];
        if (n >= 0) {
          this.#need(n); // each element is at least one byte: refuses absurd lengths before looping
          for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        } else {
          for (let x = this.#any(depth + 1); x !== BREAK; x = this.#any(depth + 1)) out.push(x);
        }
        return out;
      }
      case 5: {
        const n = this.#argument(info);
        const out: Record<string, unknown> = {};
        const entry = (key: unknown) => {
          if (typeof key !== 'string') throw invalid('map keys must be text strings');
          // Assignment defines an own data property for every key but `__proto__`, which would set
          // the prototype: that one alone goes through defineProperty, so it stays a plain own key
          // (refused by the core). Assignment is the fast path for all the others.
          const value = this.item(depth + 1);
          if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
          else out[key] = value;
        };
        if (n >= 0) {
          this.#need(n * 2);
          for (let i = 0; i < n; i++) entry(this.item(depth + 1));
        } else {
          for (let k = this.#any(depth + 1); k !== BREAK; k = this.#any(depth + 1)) entry(k);
        }
        return out;
      }
      case 6: throw invalid('tags are not JSON values');
      default: return this.#simple(info);
    }
  }

  #text(info: number): string {
    const n = this.#argument(info);
    if (n >= 0) {
      this.#need(n);
      const s = this.#b.subarray(this.pos, this.pos + n);
      this.pos += n;
      try { return utf8.decode(s); } catch { throw malformed('text string is not valid UTF-8'); }
    }
    // RFC 8949 §3.2.3: an indefinite text string is a sequence of definite text chunks.
    let out = '';
    for (;;) {
      this.#need(1);
      const b = this.#b[this.pos++]!;
      if (b === 0xff) return out;
      if (b >> 5 !== 3 || (b & 0x1f) === 31) throw malformed('bad chunk in an indefinite text string');
      out += this.#text(b & 0x1f);
    }
  }

  #simple(info: number): unknown {
    const v = this.#view;
    let n: number;
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: throw invalid('undefined is not a JSON value');
      case 25: this.#need(2); n = float16(v.getUint16(this.pos)); this.pos += 2; break;
      case 26: this.#need(4); n = v.getFloat32(this.pos); this.pos += 4; break;
      case 27: this.#need(8); n = v.getFloat64(this.pos); this.pos += 8; break;
      case 31: return BREAK;
      default: throw invalid(`simple value ${info} is not a JSON value`);
    }
    if (!Number.isFinite(n)) throw invalid('numbers must be finite');
    return n;
  }
}

/** RFC 8949 Appendix D. */
function float16(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  const val = exp === 0 ? mant * 2 ** -24 : exp !== 31 ? (mant + 1024) * 2 ** (exp - 25) : mant === 0 ? Infinity : NaN;
  return half & 0x8000 ? -val : val;
}
