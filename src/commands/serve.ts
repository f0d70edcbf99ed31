/**
 * `doppel serve [flags]`: runs the server until SIGTERM/SIGINT, then drains and exits 0.
 */
import { describeConfig } from '../config.ts';
import { resolveConfig } from '../config-source.ts';
import { createLogger } from '../log.ts';
import type { DoppelServer } from '../server.ts';
import type { Command } from './types.ts';

export const serveCommand: Command = {
  summary: 'Run the server (HTTP + WebSocket, CoAP; LevelDB in --data)',
  usage() {
    const rows = [
      { left: '--config <file>', help: 'A JSON object of settings (keys as in doppel config print); env and flags win over it', env: 'DOPPEL_CONFIG', dflt: '' },
      ...describeConfig().map((s) => ({ left: `${s.flag} <${s.placeholder}>`, help: s.help, env: s.env, dflt: s.default === undefined ? '' : `, default ${JSON.stringify(s.default)}` })),
    ];
    const width = Math.max(...rows.map((r) => r.left.length)) + 2;
    return [
      'Usage: doppel serve [flags]', '',
      'Runs the Doppel twin server (HTTP twin API and WebSockets on --http, CoAP on --coap; LevelDB in --data).', '',
      'Flags (each also an environment variable; flags win over the environment, which wins over --config):',
      ...rows.map((r) => `  ${r.left.padEnd(width)}${r.help} [${r.env}${r.dflt}]`),
    ].join('\n');
  },
  async run(args, runtime) {
    const config = await resolveConfig(args, runtime);
    const logger = createLogger(config.logLevel, (line) => runtime.writeStdout(line));
    // Loaded here, not at the top: the other commands (CLI clients) should not load LevelDB.
    const { startServer } = await import('../server.ts');
    // The signal handler is in place before the server listens: a supervisor may send SIGTERM as
    // soon as it sees "listening", and that must drain, not kill the process mid-write.
    let server: DoppelServer | undefined;
    let stopRequested = false;
    const stop = (running: DoppelServer) => {
      running.close().then(() => runtime.exit(0), (err: unknown) => {
        logger.error('shutdown failed', { err });
        runtime.exit(1);
      });
    };
    runtime.onShutdownSignal((signal) => {
      logger.info('draining', { signal });
      if (server === undefined) stopRequested = true;
      else stop(server);
    });
    server = await startServer(config, runtime, logger);
    if (stopRequested) stop(server);
    return new Promise<number>(() => {}); // runs until a signal ends the process
  },
};
