/**
 * The twin record: the one JetStream message a commit writes on a twin's subject. It carries the
 * twin's whole head (snapshot, pending-index entry, history bounds) plus the events this commit
 * added, so a change's new state and its event are stored together or not at all (JetStream 2.9
 * has no multi-message atomic publish), and the subject's last message alone is the current state.
 * Pure: no I/O.
 */
import type { Command } from '../../twin/commands.ts';
import type { ChangeEvent, TwinState } from '../../twin/types.ts';
import { isDeepStrictEqual } from 'node:util';
import type { ConnectorEventType, StoreOp } from '../types.ts';

/** What the latest record of a subject says about its twin now. */
export interface TwinHead {
  state: TwinState | null;
  /** The pending-index entry: since when the twin is out of sync (null: not indexed). */
  pending: string | null;
  /**
   * History is trimmed from the bottom: events with version ≤ floor are gone (retention). Older
   * records also fall out of the stream by itself (`max_msgs_per_subject`).
   */
  floor: number;
  /** The highest event version stored since the subject was last reset. */
  top: number;
  /**
   * The twin's command records (open and recently ended), in id order; absent when none. Kept in
   * the head so a command's change is one CAS-fenced record, like a twin change (docs/design/cluster.md).
   */
  commands?: Command[];
  /**
   * Fleet jobs that applied their change to this twin (their done-marks), in id order; absent when
   * none. In the head so "applied" and "marked" are one record; dropped once a job ends.
   */
  jobMarks?: string[];
}

export interface TwinRecord extends TwinHead {
  /** Events this commit added. */
  events: ChangeEvent[];
  /** The twin was deleted here: earlier records of the subject are not its history any more. */
  reset: boolean;
  /**
   * Connector events of this commit that `events` does not already say (deletions, command
   * status changes): the twin stream is the connectors' outbox in cluster mode, so they are
   * stored with the change, atomically (docs/design/cluster.md §11). Absent when none.
   */
  out?: OutgoingRecordEvent[];
}

/**
 * A connector event carried in a record; `view` is the twin a connector's filter sees, when the
 * record's state is not it. A command change names its command (`command`) instead of repeating
 * it when the record's `commands` hold it as it was sent.
 */
export interface OutgoingRecordEvent { type: ConnectorEventType; eventId: string; at: string; event?: object; command?: string; view?: object | null }

/** The ops that live on a twin's subject (every op but the credential ones and job records). */
export type TwinOp = Exclude<StoreOp, { type: 'putCredential' | 'deleteCredential' | 'putJob' | 'deleteJob' }>;

export const EMPTY_HEAD: Readonly<TwinHead> = Object.freeze({ state: null, pending: null, floor: 0, top: 0 });

/** The twin an op belongs to, or undefined for an op stored elsewhere (credentials, jobs). */
export function twinOfOp(op: StoreOp): string | undefined {
  switch (op.type) {
    case 'putTwin': return op.twin.id;
    case 'deleteTwin': return op.id;
    case 'putEvent': return op.event.twin;
    case 'deleteEvent':
    case 'putPending':
    case 'deletePending':
    case 'deleteCommand':
    case 'putJobMark':
    case 'deleteJobMark': return op.twin;
    case 'putCommand': return op.command.twin;
    case 'putOutbox': return op.entry.twin;
    default: return undefined;
  }
}

/** Nothing left of the twin: no snapshot, no pending entry, no visible history. */
export const isEmptyHead = (head: TwinHead): boolean => head.state === null && head.pending === null && head.floor >= head.top && (head.commands?.length ?? 0) === 0 && (head.jobMarks?.length ?? 0) === 0;

/**
 * The record that applies `ops` (in order, as LevelDB applies a batch) on top of `head`, or null
 * when nothing would change an already empty subject (deleting an absent twin writes nothing).
 * An emptied subject gets a reset record: the tombstone that lets other nodes' indexes see the
 * delete and starts the next twin of that id with a fresh history.
 */
export function planRecord(head: TwinHead, ops: readonly TwinOp[]): TwinRecord | null {
  const next: TwinHead = { ...head };
  const events = new Map<number, ChangeEvent>();
  const commands = new Map((head.commands ?? []).map((c) => [c.id, c]));
  const marks = new Set(head.jobMarks);
  const out: OutgoingRecordEvent[] = [];
  for (const op of ops) {
    switch (op.type) {
      case 'putTwin': next.state = op.twin; break;
      // A deleted twin takes its done-marks along: a twin created again under its id is a new twin.
      case 'deleteTwin': next.state = null; marks.clear(); break;
      case 'putEvent':
        events.set(op.event.version, op.event);
        next.top = Math.max(next.top, op.event.version);
        break;
      case 'deleteEvent':
        next.floor = Math.max(next.floor, op.version);
        for (const v of events.keys()) if (v <= op.version) events.delete(v);
        break;
      case 'putPending': next.pending = op.since; break;
      case 'deletePending': if (next.pending === op.since) next.pending = null; break;
      case 'putCommand': commands.set(op.command.id, op.command); break;
      case 'deleteCommand': commands.delete(op.id); break;
      case 'putJobMark': marks.add(op.job); break;
      case 'deleteJobMark': marks.delete(op.job); break;
      case 'putOutbox': {
        const { type, eventId, at, event, view } = op.entry;
        out.push({ type, eventId, at, event, ...(view === undefined ? {} : { view }) });
        break;
      }
    }
  }
  for (const o of out) {
    const id = o.type === 'command' ? (o.event as { id?: unknown }).id : undefined;
    if (typeof id === 'string' && isDeepStrictEqual(commands.get(id), o.event)) {
      delete o.event;
      o.command = id;
    }
  }
  delete next.commands;
  if (commands.size > 0) next.commands = [...commands.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  delete next.jobMarks;
  if (marks.size > 0) next.jobMarks = [...marks].sort();
  const outgoing = out.length === 0 ? {} : { out };
  if (isEmptyHead(next)) {
    if (isEmptyHead(head)) return null;
    return { ...EMPTY_HEAD, events: [], reset: true, ...outgoing };
  }
  return { ...next, events: [...events.values()].sort((a, b) => a.version - b.version), reset: false, ...outgoing };
}

/** The head a record leaves behind. */
export const headOf = (record: TwinRecord): TwinHead => ({
  state: record.state, pending: record.pending, floor: record.floor, top: record.top,
  ...(record.commands === undefined || record.commands.length === 0 ? {} : { commands: record.commands }),
  ...(record.jobMarks === undefined || record.jobMarks.length === 0 ? {} : { jobMarks: record.jobMarks }),
});

/**
 * A twin's visible history from its records in stream order: events of the last life of the
 * subject (after its last reset), above the latest floor, one per version, ascending.
 */
export function foldHistory(records: Iterable<TwinRecord>): ChangeEvent[] {
  const byVersion = new Map<number, ChangeEvent>();
  let floor = 0;
  for (const record of records) {
    if (record.reset) byVersion.clear();
    for (const event of record.events) byVersion.set(event.version, event);
    floor = record.floor;
  }
  return [...byVersion.values()].filter((e) => e.version > floor).sort((a, b) => a.version - b.version);
}

/**
 * What each node's index needs of a record, sent as message headers too, so the index follows
 * the stream with a headers-only consumer and never downloads snapshots.
 */
export interface IndexEntry { exists: boolean; pending: string | null; reset: boolean; commands: boolean; jobMarks: string[] }

export const INDEX_HEADERS = { exists: 'Dpl-Twin', pending: 'Dpl-Pending', reset: 'Dpl-Reset', commands: 'Dpl-Commands', jobMarks: 'Dpl-Jobs' } as const;

export function indexHeadersOf(record: TwinRecord): [string, string][] {
  const out: [string, string][] = [[INDEX_HEADERS.exists, record.state === null ? '0' : '1']];
  if (record.pending !== null) out.push([INDEX_HEADERS.pending, record.pending]);
  if (record.reset) out.push([INDEX_HEADERS.reset, '1']);
  if ((record.commands?.length ?? 0) > 0) out.push([INDEX_HEADERS.commands, '1']);
  // Job ids hold only `j-`, hex and `-`: a comma list is unambiguous.
  if ((record.jobMarks?.length ?? 0) > 0) out.push([INDEX_HEADERS.jobMarks, record.jobMarks!.join(',')]);
  return out;
}

/** The index entry of a record from its headers (`get` answers '' for an absent header). */
export function indexEntryOf(get: (name: string) => string): IndexEntry {
  const pending = get(INDEX_HEADERS.pending);
  const jobs = get(INDEX_HEADERS.jobMarks);
  return {
    exists: get(INDEX_HEADERS.exists) === '1', pending: pending === '' ? null : pending, reset: get(INDEX_HEADERS.reset) === '1', commands: get(INDEX_HEADERS.commands) === '1',
    jobMarks: jobs === '' ? [] : jobs.split(','),
  };
}

