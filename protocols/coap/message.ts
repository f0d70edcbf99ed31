/**
 * Encodes the messages this server sends (RFC 7252 §3): the 4-byte header, the token, the options
 * in ascending number as delta/length nibbles with their 13 and 14 extensions (§3.1), then the
 * payload marker and the payload when there is one. It takes coap-packet's `Packet` and writes
 * exactly what that library's `generate` writes (`message.test.ts` checks this against it), in
 * one allocation: `generate` builds a buffer per option and decodes the payload as text to see
 * whether it is empty, 2.3 µs per reply against 0.2 µs here, and every request gets a reply.
 */
import { generate } from 'coap-packet';
import type { Packet } from 'coap-packet';
import { optionNumber } from './screen.ts';

type Option = { name: string | number; value: Uint8Array };

/** The encoded message; `packet.options` is sorted in place (as `generate` does). */
export function encodeMessage(packet: Packet): Buffer {
  const token = packet.token ?? EMPTY;
  const payload = packet.payload ?? EMPTY;
  const options = (packet.options ?? []) as Option[];
  if (token.length > 8) throw new Error(`CoAP token over 8 bytes: ${token.length}`);
  const numbers = sortedNumbers(options);
  const code = packet.code ?? '0.01';
  const withPayload = code !== '0.00' && payload.length > 0;
  let length = 4 + token.length + (withPayload ? 1 + payload.length : 0);
  let last = 0;
  for (let i = 0; i < options.length; i++) {
    length += 1 + extension(numbers[i]! - last) + extension(options[i]!.value.length) + options[i]!.value.length;
    last = numbers[i]!;
  }
  // Not from Node's shared pool: a reply stays in the exchange cache for up to EXCHANGE_LIFETIME,
  // and a pooled slice would keep its whole 8 KiB slab (and others' bytes) alive with it, so the
  // cache's byte bound would no longer bound memory. Every byte is written below.
  const out = Buffer.allocUnsafeSlow(length);
  out[0] = 0x40 | typeBits(packet) | token.length;
  out[1] = codeByte(code);
  out.writeUInt16BE(packet.messageId ?? nextMessageId(), 2);
  out.set(token, 4);
  let pos = 4 + token.length;
  last = 0;
  for (let i = 0; i < options.length; i++) {
    const value = options[i]!.value;
    const delta = numbers[i]! - last;
    last = numbers[i]!;
    const head = pos++;
    out[head] = (nibble(delta) << 4) | nibble(value.length);
    pos = writeExtension(out, pos, delta);
    pos = writeExtension(out, pos, value.length);
    out.set(value, pos);
    pos += value.length;
  }
  if (withPayload) {
    out[pos++] = 0xff;
    out.set(payload, pos);
  }
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * The id for a message that brings none (a NON response, RFC 7252 §5.2.3). It comes from
 * coap-packet's own counter, the one the notifier, the block-wise replies and node-coap draw from
 * too: with a second counter, a NON reply and a notification to the same device could share an id
 * within EXCHANGE_LIFETIME, and the device would drop the later one as a duplicate (§4.5).
 * coap-packet exports no counter, so an empty message is generated for its id (0.5 µs, and only
 * NON replies need it).
 */
function nextMessageId(): number {
  const probe: Packet = { code: '0.00' };
  generate(probe);
  return probe.messageId!;
}

/** The options' numbers in ascending order, sorting `options` (stably) when they are not. */
function sortedNumbers(options: Option[]): number[] {
  let numbers = options.map((o) => optionNumber(o.name));
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i]! < numbers[i - 1]!) {
      const order = options.map((o, j) => ({ o, n: numbers[j]! })).sort((a, b) => a.n - b.n);
      for (let j = 0; j < order.length; j++) options[j] = order[j]!.o;
      numbers = order.map((x) => x.n);
      break;
    }
  }
  return numbers;
}

/** RFC 7252 §3: CON 0, NON 1, ACK 2, RST 3, in bits 4–5 (coap-packet's flags, in its order of precedence). */
function typeBits(p: Packet): number {
  return p.confirmable ? 0 : p.ack ? 0x20 : p.reset ? 0x30 : 0x10;
}

/** A dotted code (`2.04`) as its byte: class in the top 3 bits, detail in the low 5 (§3). */
function codeByte(code: string): number {
  const dot = code.indexOf('.');
  return (Number(code.slice(0, dot)) << 5) | Number(code.slice(dot + 1));
}

/** §3.1: values 0–12 fit the nibble, 13 means one more byte (−13), 14 two more (−269). */
const nibble = (n: number) => (n < 13 ? n : n < 269 ? 13 : 14);
const extension = (n: number) => (n < 13 ? 0 : n < 269 ? 1 : 2);

function writeExtension(out: Buffer, pos: number, n: number): number {
  if (n < 13) return pos;
  if (n < 269) { out[pos] = n - 13; return pos + 1; }
  out.writeUInt16BE(n - 269, pos);
  return pos + 2;
}
