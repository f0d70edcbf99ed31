/**
 * A raw `node:dgram` CoAP echo: every confirmable request is answered with a piggybacked 2.04 ACK
 * (same message id and token) and nothing else is done. The ceiling of UDP in Node on this
 * machine. Prints {"msg":"listening","coap":port}.
 */
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
socket.on('message', (m, r) => {
  if (m.length < 4 || (m[0]! >> 4 & 3) !== 0) return;
  const tkl = m[0]! & 15;
  const reply = Buffer.allocUnsafe(4 + tkl);
  reply[0] = 0x60 | tkl; // version 1, ACK
  reply[1] = 0x44; // 2.04
  reply[2] = m[2]!;
  reply[3] = m[3]!;
  m.copy(reply, 4, 4, 4 + tkl);
  socket.send(reply, r.port, r.address);
});
socket.bind(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', coap: socket.address().port })}\n`);
});
process.on('SIGTERM', () => { socket.close(() => process.exit(0)); });
