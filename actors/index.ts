/**
 * @module
 * The actor runtime and the twin actor. One actor per twin owns its state and a serial mailbox;
 * actors are activated from the store on first message and passivated when idle or over the
 * resident cap. `TwinService` is the message API the protocol edges call. Edges that push follow
 * changes only through the streams: `openTwinStream` (one twin, resumable, optionally holding a
 * device attachment) and `openPrefixStream` (every twin under a prefix); both read the
 * `ChangeFeed` that `TwinService` owns (the in-process `EventBus` today). Nothing here imports a
 * protocol or a runtime.
 */
export { TwinService } from './twins.ts';
export type { PatchResult, TwinServiceOptions, WriteContext } from './twins.ts';
export { incarnation, openTwinStream } from './stream.ts';
export type { CommonStreamOptions, Sink, StreamItem, StreamOptions } from './stream.ts';
export { openPrefixStream } from './prefix-stream.ts';
export type { PrefixStreamOptions } from './prefix-stream.ts';
export { Positions } from './positions.ts';
export { StreamCloser } from './stream-closer.ts';
export type { ChangeFeed, Listener, TwinNotice } from './change-feed.ts';
export { EventBus } from './event-bus.ts';
export { Mailbox } from './mailbox.ts';
export { ActorRegistry } from './registry.ts';
export type { Actor, RegistryOptions } from './registry.ts';
