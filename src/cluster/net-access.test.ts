// The --cluster URLs are checked host:port by host:port against the runtime's network grant
// (NATS's 4222 when a URL names no port); a runtime without grants (Node) lets every one through.
import { describe, expect, it } from 'vitest';
import { assertNatsAccess } from './net-access.ts';

describe('assertNatsAccess', () => {
  it('asks for each server with its port (4222 by default) and refuses the first one denied, naming it', () => {
    const asked: string[] = [];
    const runtime = { deniedNetAccess: (hostPort: string) => { asked.push(hostPort); return hostPort.startsWith('h2') ? 'not granted' : undefined; } };
    expect(() => assertNatsAccess(['nats://h1', 'tls://h2:4333', 'nats://h3:4222'], runtime))
      .toThrow('Invalid configuration: --cluster names tls://h2:4333, but not granted');
    expect(asked).toEqual(['h1:4222', 'h2:4333']);
  });

  it('lets everything through on a runtime that has no network grant', () => {
    expect(() => assertNatsAccess(['nats://h1:4222'], {})).not.toThrow();
  });
});
