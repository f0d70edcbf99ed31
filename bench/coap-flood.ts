/**
 * A CoAP flooder in its own process (`node dist/bench/coap-flood.js <port> <twin> <token> <seconds>`):
 * confirmable reports, 64 in flight, as fast as replies come. Separate from the process measuring
 * the victim, so the victim's latencies are not the flooder's event loop being busy.
 */
import { coapDatagram, runCoapLoad } from './coap-load.ts';

const [port, twin, token, seconds] = process.argv.slice(2);
const datagrams = [20, 21].map((temp) => coapDatagram({ path: ['t', twin!, 'reported'], query: [`token=${token!}`], payload: `{"temp":${temp}}` }));
const result = await runCoapLoad({ port: Number(port), datagrams, inFlight: 64, seconds: Number(seconds) });
process.stdout.write(JSON.stringify({ replies: result.replies, seconds: result.seconds, timeouts: result.timeouts, codes: [...result.codes] }));
