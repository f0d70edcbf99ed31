/**
 * @module
 * Which connectors an event goes to, and the outbox ops that record it: pure, so the twin actor
 * adds them to the very commit that writes the change (an acknowledged write cannot miss its
 * delivery; a failed write delivers nothing).
 */
import { parseFilter } from '../query/index.ts';
import type { Filter } from '../query/index.ts';
import type { ConnectorEventType, OutboxEntry, StoreOp, StoredConnector } from '../store/types.ts';

/** A connector compiled for selection. */
export interface Selector {
  id: string;
  prefix: string | null;
  filter: Filter | null;
  events: ReadonlySet<ConnectorEventType>;
}

export function toSelector(c: StoredConnector): Selector {
  return { id: c.id, prefix: c.prefix, filter: c.filter === null ? null : parseFilter(c.filter), events: new Set(c.events) };
}

/** An event about to be committed: `twin` is the public twin the filter sees (after the change; before a deletion). */
export interface OutgoingEvent {
  type: ConnectorEventType;
  twinId: string;
  eventId: string;
  at: string;
  event: object;
  /** null when the twin is not at hand: filtering connectors then do not match. */
  twin: () => object | null;
}

/** The ids of the connectors `e` goes to, in the given order. */
export function selectConnectors(selectors: readonly Selector[], e: OutgoingEvent): string[] {
  const out: string[] = [];
  let twin: object | null | undefined;
  for (const s of selectors) {
    if (!s.events.has(e.type)) continue;
    if (s.prefix !== null && !e.twinId.startsWith(s.prefix)) continue;
    if (s.filter !== null) {
      if (twin === undefined) twin = e.twin();
      if (twin === null || !s.filter.test(twin)) continue;
    }
    out.push(s.id);
  }
  return out;
}

/** One `putOutbox` op per selected connector; `nextSeq` hands out each connector's next sequence number. */
export function outboxOps(selectors: readonly Selector[], e: OutgoingEvent, nextSeq: (connector: string) => number): StoreOp[] {
  return selectConnectors(selectors, e).map((connector) => {
    const entry: OutboxEntry = { connector, seq: nextSeq(connector), twin: e.twinId, type: e.type, eventId: e.eventId, at: e.at, event: e.event };
    return { type: 'putOutbox', entry };
  });
}

/** A twin's deletion as connectors see it; `twin` is the public twin before it. */
export function deletionEvent(state: { id: string; version: number }, at: string, twin: () => object | null): OutgoingEvent {
  return { type: 'deleted', twinId: state.id, eventId: `${state.id}:${state.version}:deleted`, at, event: { twin: state.id, version: state.version, at }, twin };
}

/** A command's status change as connectors see it. */
export function commandEvent(command: { twin: string; id: string; status: string; updatedAt: string }, twin: () => object | null): OutgoingEvent {
  return { type: 'command', twinId: command.twin, eventId: `${command.twin}:cmd:${command.id}:${command.status}`, at: command.updatedAt, event: command, twin };
}
