/**
 * The reply bench/baseline-echo.ts builds, written into a slot instead of a fresh Buffer: a
 * piggybacked 2.04 ACK with the request's message id and token (RFC 7252 §5.2.1), nothing for
 * anything but a confirmable request. Returns the reply's length, or 0 for no reply.
 */
export function writeEchoReply(req: Uint8Array, reqAt: number, reqLen: number, out: Uint8Array, outAt: number): number {
  if (reqLen < 4 || ((req[reqAt]! >> 4) & 3) !== 0) return 0;
  const tkl = req[reqAt]! & 15;
  out[outAt] = 0x60 | tkl; // version 1, ACK
  out[outAt + 1] = 0x44; // 2.04
  out[outAt + 2] = req[reqAt + 2]!;
  out[outAt + 3] = req[reqAt + 3]!;
  // Buffer.copy in the baseline clamps at the end of the request; so does this (tokens are ≤ 8 bytes).
  const end = Math.min(4 + tkl, reqLen);
  for (let k = 4; k < end; k++) out[outAt + k] = req[reqAt + k]!;
  return 4 + tkl;
}

/** Synthetic JS work of about `us` microseconds (a busy wait, as CPU-bound request handling is). */
export function burn(us: number): void {
  if (us <= 0) return;
  const until = performance.now() + us / 1000;
  while (performance.now() < until) { /* spin */ }
}
