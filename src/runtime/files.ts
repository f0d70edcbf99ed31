/**
 * @module
 * Files shipped with the package (the built web console). Node and Deno both provide `node:fs`, so
 * this seam has one implementation; it lives here because file access is the runtime's business.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build` writes its outputs: this file runs from `src/runtime/` (Deno, vitest) or
 * from `dist/src/runtime/` (Node), so two levels up is the package root or `dist/` itself.
 */
export function buildOutputDir(): string {
  const up = new URL('../../', import.meta.url);
  return fileURLToPath(up.pathname.endsWith('/dist/') ? up : new URL('dist/', up));
}

/** The bytes of a file, or undefined when it does not exist. */
export async function readPackageFile(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
