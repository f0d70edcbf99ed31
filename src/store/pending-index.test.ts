import { describe, expect, it } from 'vitest';
import { pendingCountChange, pendingIndexOps } from './pending-index.ts';
import { sampleTwin } from './store-suite.ts';

const inSync = sampleTwin('a', { pendingSince: null });
const pending = (since: string) => sampleTwin('a', { pendingSince: since });
const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-02T00:00:00.000Z';

describe('pendingIndexOps', () => {
  it('indexes a twin that goes out of sync, and only then', () => {
    expect(pendingIndexOps(inSync, pending(T1))).toEqual([{ type: 'putPending', twin: 'a', since: T1 }]);
    expect(pendingIndexOps(null, pending(T1))).toEqual([{ type: 'putPending', twin: 'a', since: T1 }]);
    expect(pendingIndexOps(null, inSync)).toEqual([]);
    expect(pendingIndexOps(inSync, inSync)).toEqual([]);
  });

  it('adds nothing while the twin stays pending since the same moment (most writes)', () => {
    expect(pendingIndexOps(pending(T1), pending(T1))).toEqual([]);
  });

  it('moves the entry when pendingSince changes, and drops it on convergence or deletion', () => {
    expect(pendingIndexOps(pending(T1), pending(T2))).toEqual([{ type: 'deletePending', twin: 'a', since: T1 }, { type: 'putPending', twin: 'a', since: T2 }]);
    expect(pendingIndexOps(pending(T1), inSync)).toEqual([{ type: 'deletePending', twin: 'a', since: T1 }]);
    expect(pendingIndexOps(pending(T1), null)).toEqual([{ type: 'deletePending', twin: 'a', since: T1 }]);
    expect(pendingIndexOps(inSync, null)).toEqual([]);
  });
});

describe('pendingCountChange', () => {
  it('is +1 for a new entry, −1 for a dropped one, 0 for a move or none', () => {
    expect(pendingCountChange(pendingIndexOps(inSync, pending(T1)))).toBe(1);
    expect(pendingCountChange(pendingIndexOps(pending(T1), null))).toBe(-1);
    expect(pendingCountChange(pendingIndexOps(pending(T1), pending(T2)))).toBe(0);
    expect(pendingCountChange([{ type: 'putTwin', twin: inSync }])).toBe(0);
  });
});
