/**
 * Server frames (CONTRACT §7) as JSON text. Fan-out sends one change to every subscriber, so the
 * expensive part is serialized once and cached on the object it came from: the `change` frame per
 * ChangeEvent, the public twin JSON per TwinState (src/twin/twin-json.ts, shared with HTTP reads).
 * Caches are WeakMaps, so they live exactly as long as the event or state they describe.
 */
import { ERROR_CODES, toDoppelError } from '../../src/errors.ts';
import type { DoppelError } from '../../src/errors.ts';
import { eventJson, publicTwinJson, toDeviceView } from '../../src/twin/index.ts';
import type { ChangeEvent, Connection, JsonObject, TwinState } from '../../src/twin/types.ts';
import type { Ref } from './messages.ts';

const changeFrames = new WeakMap<ChangeEvent, string>();

/** `{"op":"change","event":{…}}`, serialized once per event object. */
export function changeFrame(event: ChangeEvent): string {
  let frame = changeFrames.get(event);
  if (frame === undefined) {
    frame = `{"op":"change","event":${eventJson(event)}}`;
    changeFrames.set(event, frame);
  }
  return frame;
}

/** `{"op":"snapshot","twin":{…}}`, with `"resync":true` after history no longer held what was missed. */
export function snapshotFrame(state: TwinState, connection: Connection, resync: boolean): string {
  const json = publicTwinJson(state, connection);
  return resync ? `{"op":"snapshot","resync":true,"twin":${json}}` : `{"op":"snapshot","twin":${json}}`;
}

const refPart = (ref: Ref | undefined): string => (ref === undefined ? '' : `,"ref":${JSON.stringify(ref)}`);

/** `{"op":"twin","ref":…,"twin":{…}}`: the public twin for apps. */
export function twinFrame(ref: Ref | undefined, state: TwinState, connection: Connection): string {
  return `{"op":"twin"${refPart(ref)},"twin":${publicTwinJson(state, connection)}}`;
}

/** `{"op":"twin","ref":…,"twin":{version, desired, reported, delta}}`: the device view. */
export function deviceTwinFrame(ref: Ref | undefined, state: TwinState): string {
  return `{"op":"twin"${refPart(ref)},"twin":${JSON.stringify(toDeviceView(state))}}`;
}

export function subscribedFrame(ref: Ref | undefined): string {
  return `{"op":"subscribed"${refPart(ref)}}`;
}

export function unsubscribedFrame(ref: Ref | undefined): string {
  return `{"op":"unsubscribed"${refPart(ref)}}`;
}

/** `{"op":"ok","ref":…,"version":…}`, plus `delta` for reports and the echoed `clientToken`. */
export function okFrame(ref: Ref | undefined, version: number, extra: { delta?: JsonObject; clientToken?: string | undefined } = {}): string {
  const body: Record<string, unknown> = { op: 'ok' };
  if (ref !== undefined) body.ref = ref;
  body.version = version;
  if (extra.delta !== undefined) body.delta = extra.delta;
  if (extra.clientToken !== undefined) body.clientToken = extra.clientToken;
  return JSON.stringify(body);
}

export function deltaFrame(twin: string, version: number, delta: JsonObject): string {
  return JSON.stringify({ op: 'delta', twin, version, delta });
}

export function deletedFrame(twin: string): string {
  return JSON.stringify({ op: 'deleted', twin });
}

/**
 * `{"op":"error","ref":…,"code":…,"message":…,"details"?}`. An `internal` error's message is
 * replaced (it may expose internals); `extra` adds details such as the twin a failure is about.
 */
export function errorFrame(ref: Ref | undefined, err: unknown, extra?: Record<string, unknown>): { frame: string; error: DoppelError } {
  const error = toDoppelError(err);
  const body: Record<string, unknown> = { op: 'error' };
  if (ref !== undefined) body.ref = ref;
  body.code = error.code;
  body.message = error.public ? error.message : ERROR_CODES.internal.title;
  const details: Record<string, unknown> = { ...(error.public ? error.details : undefined), ...extra };
  if (error.retryAfter !== undefined) details.retryAfter = error.retryAfter;
  if (Object.keys(details).length > 0) body.details = details;
  return { frame: JSON.stringify(body), error };
}
