/**
 * @module
 * In cluster mode the twin stream is the connectors' outbox: which events of one twin record a
 * connector delivers, chosen when the record is delivered rather than when it was committed (a
 * connector created on one node then sees every later write of every node). Pure.
 */
import type { TwinRecord } from '../store/jetstream/record.ts';
import type { OutboxEntry } from '../store/types.ts';
import { toPublicTwin } from '../twin/index.ts';
import { selectConnectors } from './select.ts';
import type { OutgoingEvent, Selector } from './select.ts';

/** The filter sees the twin as stored; connection state is not part of what an event carries. */
const NO_CONNECTION = { online: false, via: null, lastSeenAt: null } as const;

/**
 * The events of `record` (on `twin`'s subject) that `selector` takes, in commit order: its
 * changes (filtered on the state the record stores, the twin after the change), then what it
 * carries in `out` (a deletion, filtered on the twin before it; command changes).
 */
export function deliveriesOf(twin: string, record: TwinRecord, selector: Selector): OutboxEntry[] {
  const state = record.state;
  const stored = (): object | null => (state === null ? null : toPublicTwin(state, NO_CONNECTION));
  const candidates: OutgoingEvent[] = record.events.map((event) => ({ type: 'change', twinId: twin, eventId: `${twin}:${event.version}`, at: event.at, event, twin: stored }));
  for (const o of record.out ?? []) {
    const view = o.view;
    const event = o.event ?? record.commands?.find((c) => c.id === o.command);
    if (event === undefined) continue; // a command the record no longer names: never written so
    candidates.push({ type: o.type, twinId: twin, eventId: o.eventId, at: o.at, event, twin: view === undefined ? stored : () => view });
  }
  return candidates
    .filter((e) => selectConnectors([selector], e).length > 0)
    .map((e) => ({ connector: selector.id, seq: 0, twin, type: e.type, eventId: e.eventId, at: e.at, event: e.event }));
}

/**
 * Events trimmed before delivery: the stream keeps a bounded number of records per twin, so a
 * connector far enough behind finds a twin's versions jumping. Remembers each twin's last change
 * version (up to MAX_TWINS twins, then starts over: a missed count at worst, bounded memory).
 */
export class TrimWatch {
  static readonly MAX_TWINS = 100_000;
  readonly #last = new Map<string, number>();

  /** How many of `twin`'s changes the connector would take went missing before `record`. */
  missed(twin: string, record: TwinRecord, selector: Selector): number {
    if (record.reset) { this.#last.delete(twin); return 0; }
    const first = record.events[0]?.version;
    if (first === undefined) return 0;
    const last = this.#last.get(twin);
    if (this.#last.size >= TrimWatch.MAX_TWINS) this.#last.clear();
    this.#last.set(twin, record.events[record.events.length - 1]!.version);
    const wanted = selector.events.has('change') && (selector.prefix === null || twin.startsWith(selector.prefix));
    return last !== undefined && first > last + 1 && wanted ? first - last - 1 : 0;
  }
}
