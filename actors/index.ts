/**
 * @module
 * The actor runtime and the twin actor. One actor per twin owns its state and a serial mailbox;
 * actors are activated from the store on first message and passivated when idle or over the
 * resident cap. `TwinService` is the message API the protocol edges call; `openTwinStream` gives
 * them ordered, resumable change streams. Nothing here imports a protocol or a runtime.
 */
export { TwinService } from './twins.ts';
export type { PatchResult, TwinServiceOptions, WriteContext } from './twins.ts';
export { incarnation, openTwinStream } from './stream.ts';
export type { StreamItem, StreamOptions } from './stream.ts';
export { EventBus } from './event-bus.ts';
export type { Listener, TwinNotice } from './event-bus.ts';
export { Mailbox } from './mailbox.ts';
export { ActorRegistry } from './registry.ts';
export type { Actor, RegistryOptions } from './registry.ts';
