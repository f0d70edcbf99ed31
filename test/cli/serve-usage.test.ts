/**
 * `doppel serve` as a user first types it: help with aligned columns and placeholders in plain
 * words, and usage errors that name the flag, variable or file key that was wrong, the rule in
 * plain words, and the help that explains it. Each exits 2 and starts nothing. Also the first
 * mistakes with other commands: a mistyped command, a missing action, a file that is not there.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/config.ts';
import { createCli } from './helpers.ts';
import type { Cli } from './helpers.ts';

let cli: Cli;
beforeAll(async () => { cli = await createCli(); });
afterAll(async () => { await cli.cleanup(); });

describe('doppel serve --help', () => {
  it('aligns every flag description in one column and names placeholders in plain words', async () => {
    const { code, stdout } = await cli.run(['serve', '--help']);
    expect(code).toBe(0);
    const rows = stdout.split('\n').filter((l) => l.startsWith('  --'));
    expect(rows.length).toBeGreaterThan(30);
    const columns = new Set(rows.map((r) => /^ {2}--\S+ <[^>]+> +/.exec(r)![0].length));
    expect(columns.size).toBe(1);
    for (const row of rows) expect(row).not.toMatch(/<[a-z]+[A-Z][A-Za-z]*>/); // no <historyRetention>
    expect(stdout).toContain('--http <port>');
    expect(stdout).toContain('--history-retention <n>');
    expect(stdout).toContain('--tls-cert <file>');
    expect(stdout).toContain('--coap-cache-size <bytes>');
  });

  it('says <n> only for settings that are counts', () => {
    for (const s of describeConfig()) if (s.placeholder === 'n') expect(typeof s.default, s.flag).toBe('number');
  });
});

describe('doppel serve usage errors', () => {
  it('a mistyped command is named, with the one it is near', async () => {
    expect(await cli.run(['serv'])).toMatchObject({ code: 2, stdout: '', stderr: 'Unknown command "serv" (did you mean serve?): try doppel --help\n' });
    expect(await cli.run(['config'])).toMatchObject({ code: 2, stdout: '', stderr: 'doppel config: missing action: try doppel config print\n' });
  });

  it('a file that is not there is named in one line, without a stack trace', async () => {
    const missing = join(cli.dir, 'nope.ndjson');
    expect(await cli.run(['import', missing, '--url', 'http://127.0.0.1:1'])).toMatchObject({ code: 1, stdout: '', stderr: `doppel import: cannot open ${missing}: no such file or directory\n` });
  });

  it('an unknown flag points to doppel serve --help', async () => {
    const run = await cli.run(['serve', '--htp', '1']);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: 'Unknown flag "--htp" (did you mean --http?): see doppel serve --help\n' });
  });

  it('a bad environment variable is named, with its limit in plain words', async () => {
    const run = await cli.run(['serve'], { env: { DOPPEL_HTTP: '99999' } });
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: 'Invalid DOPPEL_HTTP (--http): must be a port number from 0 to 65535, got "99999"\n' });
  });

  it('a bad value in a config file names the file and the key', async () => {
    const file = join(cli.dir, 'doppel.json');
    await writeFile(file, JSON.stringify({ logLevel: 'loud' }));
    const run = await cli.run(['serve', '--config', file]);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `Invalid "logLevel" in ${file}: must be one of debug, info, warn, error, silent, got "loud"\n` });
  });
});
