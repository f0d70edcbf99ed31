/**
 * The live feed: one WebSocket (`/v1/ws`) following every twin under a prefix. Messages are
 * queued and applied once per animation frame, so 10,000 snapshots or a burst of changes cost one
 * render, not one each. Reconnects with backoff; a revoked token (4401) is final.
 */
import type { ChangeEvent, Command, Twin } from './api.ts';
import { isEmpty } from './json.ts';

export interface Summary {
  id: string; version: number; inSync: boolean; pendingSince: string | null; online: boolean; updatedAt: string;
}
export type LiveStatus = { state: 'connecting' | 'live' | 'reconnecting' | 'closed'; detail: string };

type Message =
  | { op: 'snapshot'; twin: Twin } | { op: 'change'; event: ChangeEvent } | { op: 'deleted'; twin: string }
  | { op: 'command'; twin: string; command: Command }
  | { op: 'error'; code: string; message: string } | { op: string };

/** Time per frame spent applying live messages, leaving room for rendering and input (a 60 Hz frame is 16.7 ms). */
const FRAME_BUDGET_MS = 8;

const summarize = (t: Twin): Summary => ({
  id: t.id, version: t.version, inSync: t.sync.inSync, pendingSince: t.sync.pendingSince ?? null,
  online: t.connection.online, updatedAt: t.updatedAt,
});

export class LiveFleet {
  readonly twins = new Map<string, Summary>();
  /** Ids deleted while followed, so a page listed over HTTP can drop them. */
  readonly deleted = new Set<string>();
  status: LiveStatus = { state: 'connecting', detail: '' };
  /** Bumped on every applied batch: components compare it to re-render. */
  revision = 0;
  private socket: WebSocket | null = null;
  private queue: string[] = [];
  private head = 0;
  private scheduled = false;
  private retry = 0;
  private stopped = false;
  private started = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: ChangeEvent) => void>();
  private readonly commandListeners = new Set<(twin: string, c: Command) => void>();
  private readonly extraTwins = new Set<string>();

  constructor(private readonly token: string, private readonly onUnauthorized: () => void) {}

  /** Connects once (later calls do nothing). Views call it after their first HTTP data arrived, so
   * the first page is not queued behind thousands of snapshots. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'signed out');
  }

  subscribe(fn: () => void): () => void { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  onEvent(fn: (e: ChangeEvent) => void): () => void { this.eventListeners.add(fn); return () => this.eventListeners.delete(fn); }
  /** A command's status changed (queued, delivered, answered, expired, cancelled) on a followed twin. */
  onCommand(fn: (twin: string, c: Command) => void): () => void { this.commandListeners.add(fn); return () => this.commandListeners.delete(fn); }

  /** Follows one twin besides the prefix (the twin view), until the returned function is called. */
  follow(id: string): () => void {
    this.extraTwins.add(id);
    this.send({ op: 'subscribe', ref: `twin:${id}`, twins: [id] });
    return () => {
      this.extraTwins.delete(id);
      this.send({ op: 'unsubscribe', ref: `twin:${id}`, twins: [id] });
    };
  }

  private send(frame: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // Browsers cannot set headers on a WebSocket: the API takes the token as ?access_token= here.
    const ws = new WebSocket(`${scheme}://${location.host}/v1/ws?access_token=${encodeURIComponent(this.token)}`);
    this.socket = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.twins.clear();
      this.queue = [];
      this.head = 0;
      this.setStatus({ state: 'live', detail: '' });
      ws.send(JSON.stringify({ op: 'subscribe', ref: 'fleet', prefix: '' }));
      if (this.extraTwins.size > 0) ws.send(JSON.stringify({ op: 'subscribe', ref: 'twins', twins: [...this.extraTwins] }));
    };
    ws.onmessage = (e) => {
      // Parsed later, in the frame's budget: a burst of 10,000 snapshots must not block the page.
      this.queue.push(String(e.data));
      this.schedule();
    };
    ws.onclose = (e) => {
      if (this.socket !== ws || this.stopped) return;
      if (e.code === 4401) { this.setStatus({ state: 'closed', detail: 'token revoked' }); this.onUnauthorized(); return; }
      const wait = Math.min(30, 2 ** this.retry++);
      this.setStatus({ state: 'reconnecting', detail: `connection lost (${e.code}); retrying in ${wait}s` });
      this.timer = setTimeout(() => this.connect(), wait * 1000);
    };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Background tabs get no animation frames: fall back to a slow timer so the queue drains.
    if (document.hidden) setTimeout(() => this.flush(), 250);
    else requestAnimationFrame(() => this.flush());
  }

  /** Applies queued messages for up to FRAME_BUDGET_MS, renders once, and leaves the rest for the next frame. */
  private flush(): void {
    this.scheduled = false;
    const started = performance.now();
    while (this.head < this.queue.length && performance.now() - started < FRAME_BUDGET_MS) {
      this.apply(JSON.parse(this.queue[this.head++]!) as Message);
    }
    if (this.head === this.queue.length) { this.queue = []; this.head = 0; } else this.schedule();
    this.revision++;
    for (const fn of this.listeners) fn();
  }

  private apply(m: Message): void {
    if (m.op === 'snapshot' && 'twin' in m && typeof m.twin === 'object') {
      this.twins.set(m.twin.id, summarize(m.twin));
      this.deleted.delete(m.twin.id);
    } else if (m.op === 'change' && 'event' in m) {
      this.applyChange(m.event);
      for (const fn of this.eventListeners) fn(m.event);
    } else if (m.op === 'deleted' && 'twin' in m && typeof m.twin === 'string') {
      this.twins.delete(m.twin);
      this.deleted.add(m.twin);
    } else if (m.op === 'command' && 'command' in m && 'twin' in m) {
      for (const fn of this.commandListeners) fn(m.twin, m.command);
    } else if (m.op === 'error' && 'code' in m && 'message' in m) {
      this.setStatus({ state: this.status.state, detail: `${m.code}: ${m.message}` });
    }
  }

  private applyChange(e: ChangeEvent): void {
    const s = this.twins.get(e.twin);
    if (s === undefined || e.version <= s.version) return;
    const inSync = isEmpty(e.delta);
    // A reported patch is the device's word: it was in contact just now.
    const online = s.online || e.patch.reported !== undefined;
    this.twins.set(e.twin, {
      ...s, version: e.version, inSync, online, updatedAt: e.at,
      pendingSince: inSync ? null : s.inSync ? e.at : s.pendingSince,
    });
  }

  private setStatus(status: LiveStatus): void {
    this.status = status;
    this.revision++;
    for (const fn of this.listeners) fn();
  }
}
