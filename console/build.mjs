/**
 * Builds the web console into dist/console/: esbuild bundles and minifies console/src/main.tsx
 * (Preact) and console/styles.css under content-hashed names, fills them into index.html, and
 * writes manifest.json (the asset list and the HTML's ETag) for protocols/http/routes/console.ts.
 * Writes into a temp directory and renames it into place, so a server never sees half a build.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const out = join(root, 'dist', 'console');
const tmp = `${out}.tmp-${process.pid}`;
const quiet = process.argv.includes('--quiet');

await rm(tmp, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(here, 'src', 'main.tsx'), join(here, 'styles.css')],
  bundle: true, minify: true, format: 'esm', target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic', jsxImportSource: 'preact', entryNames: '[name]-[hash]', outdir: join(tmp, 'assets'),
  metafile: true, legalComments: 'none', logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((n) => n.endsWith('.js'));
const style = outputs.find((n) => n.endsWith('.css'));
const iconSvg = await readFile(join(here, 'icon.svg'));
const icon = `icon-${createHash('sha256').update(iconSvg).digest('hex').slice(0, 8)}.svg`;
await copyFile(join(here, 'icon.svg'), join(tmp, 'assets', icon));
const html = (await readFile(join(here, 'index.html'), 'utf8'))
  .replace('%SCRIPT%', script).replace('%STYLE%', style).replace('%ICON%', icon);
await writeFile(join(tmp, 'index.html'), html);
const etag = createHash('sha256').update(html).digest('hex').slice(0, 16);
await writeFile(join(tmp, 'manifest.json'), JSON.stringify({ etag, assets: [script, style, icon] }, null, 2));

await mkdir(dirname(out), { recursive: true });
await rm(out, { recursive: true, force: true });
await rename(tmp, out);

if (!quiet) {
  let raw = 0, gz = 0;
  for (const name of [script, style]) {
    const bytes = await readFile(join(out, 'assets', name));
    raw += bytes.length; gz += gzipSync(bytes, { level: 9 }).length;
  }
  console.log(`console built: dist/console (${script}, ${style}): ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip`);
}
