/**
 * Debian's Chromium, headless, for the browser tests (driven by playwright-core; never a browser
 * download). The flags keep it off the network: without the background-networking ones it tries
 * Google's hosts at every start, which this machine's closed network refuses.
 */
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
