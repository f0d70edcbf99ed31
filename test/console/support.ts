/**
 * Shared by the console tests: builds the console when dist/console is missing, launches the real
 * Debian Chromium, and opens pages that record every request URL and every console error, so a test
 * can assert nothing left the server's origin and nothing went wrong in the page.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';

export const CONSOLE_DIR = join(projectRoot, 'dist', 'console');

/** Builds dist/console when it is missing or older than any console source. */
export async function ensureConsoleBuilt(): Promise<void> {
  const manifest = join(CONSOLE_DIR, 'manifest.json');
  if (existsSync(manifest) && newestSource(join(projectRoot, 'console')) <= statSync(manifest).mtimeMs) return;
  await promisify(execFile)(process.execPath, [join(projectRoot, 'console', 'build.mjs'), '--quiet'], { cwd: projectRoot, timeout: 60_000 });
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export { launchChromium } from '../support/browser.ts';

export interface WatchedPage { page: Page; requests: string[]; problems: string[] }

/** A page at phone or desktop width whose requests and console errors are recorded. */
export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { page, requests, problems };
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The body of a response that must have `status` (the body is shown when it has not). */
export async function json<T>(res: Response, status: number): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(status);
  return await res.json() as T;
}
