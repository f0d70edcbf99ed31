/**
 * A bare node-coap server answering 2.04 to every request: the ceiling of any server built on
 * node-coap, measured by the same load generator as Doppel. Prints {"msg":"listening","coap":port}.
 */
import { createServer } from 'coap';
import type { AddressInfo } from 'node:net';

const server = createServer({ cacheSize: 65_536 });
server.on('request', (_req, res) => {
  res.code = '2.04';
  res.end();
});
server.listen(0, '127.0.0.1', () => {
  const port = ((server as unknown as { _sock: { address(): AddressInfo } })._sock).address().port;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', coap: port })}\n`);
});
process.on('SIGTERM', () => { server.close(() => process.exit(0)); });
