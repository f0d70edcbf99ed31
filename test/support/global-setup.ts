// Builds dist/ once so tests that spawn the real `doppel` process run the current code.
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  chmodSync('dist/src/cli.js', 0o755); // the `doppel` bin, as scripts/build.mjs leaves it
}
