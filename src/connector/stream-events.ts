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
