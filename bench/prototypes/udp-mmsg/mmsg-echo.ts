/**
 * The echo of bench/baseline-echo.ts on the recvmmsg/sendmmsg prototype socket: every batch of
 * requests is answered with one sendmmsg (or, with `--defer`, every loop turn's replies). Prints
 * {"msg":"listening","coap":port}; on SIGUSR2 prints its recvmmsg/sendmmsg counters.
 */
import { announce, answerStats, echoOptions } from './echo-options.ts';
import { burn, writeEchoReply } from './echo-reply.ts';
import { openMmsgSocket } from './mmsg-socket.ts';

const opts = echoOptions(process.argv.slice(2));
const SLOT = 1280; // larger than any request the bench sends; longer ones arrive truncated and are dropped
let queued = 0;
let flushScheduled = false;

const flush = () => {
  flushScheduled = false;
  if (opts.sendEach) for (let i = 0; i < queued; i++) socket.sendBatch(i, 1);
  else if (queued > 0) socket.sendBatch(0, queued);
  queued = 0;
};

const socket = openMmsgSocket({
  batch: 64, slot: SLOT,
  onBatch(count) {
    const { recv, send } = socket;
    for (let i = 0; i < count; i++) {
      burn(opts.workUs);
      const len = opts.copy
        ? writeEchoReply(Buffer.from(recv.data.subarray(i * SLOT, i * SLOT + recv.meta[3 * i]!)), 0, recv.meta[3 * i]!, send.data, queued * SLOT)
        : writeEchoReply(recv.data, i * SLOT, recv.meta[3 * i]!, send.data, queued * SLOT);
      if (len === 0) continue;
      send.meta[3 * queued] = len;
      send.meta[3 * queued + 1] = recv.meta[3 * i + 1]!;
      send.meta[3 * queued + 2] = recv.meta[3 * i + 2]!;
      if (++queued === socket.batch) flush(); // the send area is full: it goes now
    }
    if (!opts.defer) flush();
    else if (queued > 0 && !flushScheduled) { flushScheduled = true; setImmediate(flush); }
  },
});
announce(socket.port);
answerStats(() => socket.stats());
process.on('SIGTERM', () => { socket.close(); process.exit(0); });
