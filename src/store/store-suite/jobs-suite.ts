/**
 * @module
 * The store contract's fleet job records: jobs by id and in id order, and each job's done-marks,
 * committed with the twin change they mark. Skipped by stores without jobs.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { planJob } from '../../job/types.ts';
import type { Job } from '../../job/types.ts';
import type { TwinStore } from '../types.ts';
import { sampleEvent, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

const J1 = 'j-00000000-0000-4000-8000-000000000001';
const J2 = 'j-00000000-0000-4000-8000-000000000002';
const job = (id: string): Job => planJob(id, { filter: 'exists(id)', prefix: 'p-', desired: { fw: 2 } }, new Date('2026-01-01T00:00:00.000Z'));

export function describeJobContract(subject: StoreUnderTest): void {
  describe('fleet jobs and their done-marks', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('keeps jobs by id and lists them in id order', async () => {
      if (store.getJob === undefined || store.listJobs === undefined) return;
      await store.commit([{ type: 'putJob', job: job(J2) }]);
      await store.commit([{ type: 'putJob', job: job(J1) }]);
      const progressed = { ...job(J1), done: 3, cursor: 'p-3' };
      await store.commit([{ type: 'putJob', job: progressed }]);
      expect(await store.getJob(J1)).toEqual(progressed);
      expect(await store.getJob('j-00000000-0000-4000-8000-000000000009')).toBeUndefined();
      expect((await store.listJobs()).map((j) => j.id)).toEqual([J1, J2]);
    });

    it('stores a done-mark with the twin change it marks, per job, and deletes it', async () => {
      if (store.hasJobMark === undefined || store.jobMarks === undefined) return;
      for (const id of ['p-b', 'p-a', 'p-c']) await store.commit([{ type: 'putTwin', twin: sampleTwin(id) }, { type: 'putEvent', event: sampleEvent(id, 1) }]);
      for (const id of ['p-b', 'p-a']) {
        await store.commit([{ type: 'putTwin', twin: sampleTwin(id, { version: 2 }) }, { type: 'putEvent', event: sampleEvent(id, 2) }, { type: 'putJobMark', job: J1, twin: id }]);
      }
      await store.commit([{ type: 'putTwin', twin: sampleTwin('p-c', { version: 2 }) }, { type: 'putEvent', event: sampleEvent('p-c', 2) }, { type: 'putJobMark', job: J2, twin: 'p-c' }]);
      expect((await store.getTwin('p-a'))?.version).toBe(2);
      expect(await store.hasJobMark(J1, 'p-a')).toBe(true);
      expect(await store.hasJobMark(J1, 'p-c')).toBe(false);
      expect(await store.hasJobMark(J2, 'p-c')).toBe(true);
      expect(await store.jobMarks(J1)).toEqual(['p-a', 'p-b']);
      await store.commit([{ type: 'deleteJobMark', job: J1, twin: 'p-a' }]);
      expect(await store.hasJobMark(J1, 'p-a')).toBe(false);
      expect(await store.jobMarks(J1)).toEqual(['p-b']);
      expect(await store.jobMarks(J2)).toEqual(['p-c']);
      expect((await store.getTwin('p-a'))?.version).toBe(2);
    });

    it('deleteTwinOps also deletes the twin\'s done-marks: a twin created again is a new twin', async () => {
      if (store.hasJobMark === undefined || store.jobMarks === undefined) return;
      await store.commit([{ type: 'putJob', job: job(J1) }, { type: 'putJob', job: job(J2) }]);
      for (const id of ['p-a', 'p-b']) await store.commit([{ type: 'putTwin', twin: sampleTwin(id) }, { type: 'putEvent', event: sampleEvent(id, 1) }]);
      await store.commit([{ type: 'putJobMark', job: J1, twin: 'p-a' }, { type: 'putJobMark', job: J2, twin: 'p-a' }, { type: 'putJobMark', job: J1, twin: 'p-b' }]);
      await store.commit(await store.deleteTwinOps('p-a'));
      expect(await store.hasJobMark(J1, 'p-a')).toBe(false);
      expect(await store.hasJobMark(J2, 'p-a')).toBe(false);
      expect(await store.jobMarks(J1)).toEqual(['p-b']);
      await store.commit([{ type: 'putTwin', twin: sampleTwin('p-a') }, { type: 'putEvent', event: sampleEvent('p-a', 1) }]);
      expect(await store.hasJobMark(J1, 'p-a')).toBe(false);
    });

    it('endJob ends the job as stored, keeping the newer counters another writer stored (cluster cancel)', async () => {
      if (store.endJob === undefined || store.getJob === undefined) return;
      await store.commit([{ type: 'putJob', job: job(J1) }]);
      const newer = { ...job(J1), done: 7, scanned: 9, cursor: 'p-9' }; // the runner's batch, after the canceller read
      await store.commit([{ type: 'putJob', job: newer }]);
      const ended = await store.endJob(J1, 'cancelled', new Date('2026-01-02T00:00:00.000Z'));
      expect(ended).toMatchObject({ status: 'cancelled', done: 7, scanned: 9, cursor: 'p-9', endedAt: '2026-01-02T00:00:00.000Z' });
      expect(await store.getJob(J1)).toEqual(ended);
      await expect(store.endJob(J1, 'completed', new Date())).rejects.toMatchObject({ code: 'job_ended' });
      await expect(store.commit([{ type: 'putJob', job: newer }])).rejects.toMatchObject({ code: 'job_ended' });
      await expect(store.endJob(J2, 'cancelled', new Date())).rejects.toMatchObject({ code: 'not_found' });
    });

    it('deletes an ended job\'s record (retention)', async () => {
      if (store.getJob === undefined || store.listJobs === undefined) return;
      await store.commit([{ type: 'putJob', job: job(J1) }, { type: 'putJob', job: job(J2) }]);
      await store.commit([{ type: 'deleteJob', id: J1 }]);
      expect(await store.getJob(J1)).toBeUndefined();
      expect((await store.listJobs()).map((j) => j.id)).toEqual([J2]);
      await store.commit([{ type: 'deleteJob', id: J1 }]); // a missing one is fine
    });

    it('refuses a job op with a bad id as internal, writing nothing', async () => {
      if (store.getJob === undefined || store.listJobs === undefined) return;
      await expect(store.commit([{ type: 'putJob', job: job('nope') }])).rejects.toMatchObject({ code: 'internal' });
      await expect(store.commit([{ type: 'putJobMark', job: 'nope', twin: 'p-a' }])).rejects.toMatchObject({ code: 'internal' });
      expect(await store.listJobs()).toEqual([]);
    });
  });
}
