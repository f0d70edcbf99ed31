/**
 * Text lines out of a byte stream (a file, an HTTP body), split on LF with a trailing CR dropped:
 * runtime-neutral, used by the Deno adapter's `readLines` and by commands reading HTTP bodies.
 */
export async function* linesOf(bytes: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let rest = '';
  for await (const chunk of bytes.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>)) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  if (rest !== '') yield rest;
}
