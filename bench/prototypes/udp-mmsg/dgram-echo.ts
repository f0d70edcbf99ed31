/**
 * bench/baseline-echo.ts with the prototype's options (echo-options.ts), for the deferred-reply
 * comparison: the same reply on node:dgram, one socket.send per reply, `--defer` holding replies
 * until the loop turn's setImmediate. Prints {"msg":"listening","coap":port}.
 */
import { createSocket } from 'node:dgram';
import { announce, answerStats, echoOptions } from './echo-options.ts';
import { burn, writeEchoReply } from './echo-reply.ts';

const opts = echoOptions(process.argv.slice(2));
const queue: Array<{ reply: Buffer; port: number; address: string }> = [];
let sends = 0;
const flush = () => {
  for (const q of queue) socket.send(q.reply, q.port, q.address);
  sends += queue.length;
  queue.length = 0;
};

const socket = createSocket('udp4');
socket.on('message', (m, r) => {
  burn(opts.workUs);
  const reply = Buffer.allocUnsafe(4 + (m.length > 0 ? m[0]! & 15 : 0));
  if (writeEchoReply(m, 0, m.length, reply, 0) === 0) return;
  if (!opts.defer) { socket.send(reply, r.port, r.address); sends++; return; }
  if (queue.push({ reply, port: r.port, address: r.address }) === 1) setImmediate(flush);
});
socket.bind(0, '127.0.0.1', () => announce(socket.address().port));
answerStats(() => ({ sent: sends }));
process.on('SIGTERM', () => { socket.close(() => process.exit(0)); });
