/**
 * Every walkthrough the README shows is a file in examples/ (test/docs/readme-examples.test.ts
 * proves the README shows them verbatim), and here each one runs, as a reader would run it, against
 * a real server process on free ports with a temp data dir. The examples check the outputs the
 * README promises themselves (`expect` in the shell scripts, node:assert in the WebSocket client),
 * so a walkthrough that no longer works fails here.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { EXAMPLES } from './readme-examples.ts';

/** Generous: the CoAP walkthrough observes for 5 s and the SSE steps stream for 2 s each. */
const RUN_TIMEOUT_MS = 90_000;

let server: ChildServer;
let data: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  data = await tempDir('doppel-walkthrough-');
  server = await startChildServer(data.path);
}, 60_000);

afterAll(async () => {
  await server?.kill('SIGTERM');
  await data?.remove();
});

/** Runs one example from the repository root with the server's addresses; rejects with its output. */
function run(file: string, addresses: { API?: string; COAP?: string } = {}): Promise<string> {
  const [program, args] = file.endsWith('.sh') ? ['bash', [file]] : [process.execPath, [file]];
  const env = {
    ...process.env,
    API: `http://127.0.0.1:${server.port}`,
    COAP: `coap://127.0.0.1:${server.coapPort}`,
    ADMIN,
    ...addresses,
  };
  return new Promise((resolve, reject) => {
    execFile(program, args, { cwd: projectRoot, env, timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} failed (${err.message.split('\n')[0]}):\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('README walkthroughs', () => {
  it('are all shell scripts that stop at the first failure, or node scripts', async () => {
    for (const file of EXAMPLES) {
      const text = await readFile(join(projectRoot, file), 'utf8');
      if (file.endsWith('.sh')) expect(text, file).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/);
      else expect(file).toMatch(/\.mjs$/);
    }
  });

  // One server, in README order, as a reader follows them; each walkthrough uses its own twins.
  it('examples/http.sh: curl creates, patches, reports, reads history and resumes events', async () => {
    const out = await run('examples/http.sh');
    expect(out).toContain('"delta":{}}'); // the converged device view of step 4
    expect(out).toMatch(/^event: change$/m);
  }, RUN_TIMEOUT_MS + 5_000);

  it('examples/coap.sh: coap-client-notls reads, reports, observes, transfers blocks and CBOR', async () => {
    const out = await run('examples/coap.sh');
    expect(out).toContain('{"temp":65,"mode":"eco"}\n{"temp":70,"mode":"eco"}');
  }, RUN_TIMEOUT_MS + 5_000);

  it('examples/websocket.mjs: an app subscribes, patches, resumes with since; a device reports', async () => {
    const out = await run('examples/websocket.mjs');
    expect(out).toContain('device ← {"op":"ok","ref":"r1","version":3,"delta":{}}');
  }, RUN_TIMEOUT_MS + 5_000);

  it('examples/commands.sh: a queued command answered over HTTP, a direct one by a CoAP observer', async () => {
    const out = await run('examples/commands.sh');
    expect(out).toContain('"code":"device_offline"');
    expect(out).toMatch(/"status":"succeeded".*"result":\{"stoppedAt":1200\}/);
  }, RUN_TIMEOUT_MS + 5_000);

  // A reader runs a walkthrough again: each starts by deleting its twins, so a second run passes too.
  it('run again on the same server, each starting over', async () => {
    for (const file of EXAMPLES) await run(file);
  }, 3 * RUN_TIMEOUT_MS + 5_000);

  it('say so in one line when the server is not running', async () => {
    for (const file of EXAMPLES) {
      const failed = await run(file, { API: 'http://127.0.0.1:9', COAP: 'coap://127.0.0.1:9' }).then(() => '', (err: Error) => err.message);
      expect(failed, file).toContain('cannot reach http://127.0.0.1:9: start the server first (npm start)');
    }
  }, RUN_TIMEOUT_MS);
});
