/**
 * Options shared by the two prototype echo servers: `--work-us N` burns about N µs of JS per
 * request, `--defer` sends replies in one burst per loop turn (setImmediate), as a server does whose
 * replies leave after a commit, `--send-each` (mmsg only) makes one sendmmsg per reply, to
 * separate what batched receiving saves from what batched sending saves, and `--copy` (mmsg only)
 * copies each request into a Buffer of its own first, as Doppel's parser (which keeps Buffers past
 * the callback) would need, where node:dgram hands it one already.
 */
import { z } from 'zod';

const Options = z.object({ workUs: z.number().min(0).max(10_000), defer: z.boolean(), sendEach: z.boolean(), copy: z.boolean() });
export type EchoOptions = z.infer<typeof Options>;

export function echoOptions(argv: readonly string[]): EchoOptions {
  const at = argv.indexOf('--work-us');
  return Options.parse({ workUs: at < 0 ? 0 : Number(argv[at + 1]), defer: argv.includes('--defer'), sendEach: argv.includes('--send-each'), copy: argv.includes('--copy') });
}

/** The line the bench waits for, as bench/server-process.ts `start` expects. */
export function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', coap: port })}\n`);
}

/** On SIGUSR2, one JSON line {"msg":"stats",...} with the server's counters (the bench diffs them). */
export function answerStats(read: () => object): void {
  process.on('SIGUSR2', () => { process.stdout.write(`${JSON.stringify({ msg: 'stats', ...read() })}\n`); });
}
