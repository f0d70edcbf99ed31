import { describe, expect, it, vi } from 'vitest';
import { StreamCloser } from './stream-closer.ts';

describe('StreamCloser', () => {
  it('runs the teardown once, on the first close', () => {
    const closer = new StreamCloser();
    const teardown = vi.fn();
    closer.onClose(teardown);
    expect(teardown).not.toHaveBeenCalled();
    closer.close();
    closer.close();
    expect(teardown).toHaveBeenCalledTimes(1);
    expect(closer.closed).toBe(true);
  });

  it('runs a teardown given after it was closed at once (a stream closed while opening)', () => {
    const closer = new StreamCloser();
    closer.close();
    const teardown = vi.fn();
    closer.onClose(teardown);
    expect(teardown).toHaveBeenCalledTimes(1);
  });
});
