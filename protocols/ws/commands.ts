/**
 * Commands in a WebSocket device session: the session is a live sink for its twin's commands
 * (so direct commands reach it), is sent every open command on connect and each new one as it
 * is added, as `{"op":"command","command":{id,name,payload}}`, and answers them with `result`.
 * Delivery is at least once: a command added while the session starts may be sent twice.
 */
import type { TwinService } from '../../actors/index.ts';
import { publicCommand } from '../../src/twin/commands.ts';
import type { Command, CommandOrder } from '../../src/twin/commands.ts';
import type { Ref, ResultMessage } from './messages.ts';

export function commandFrame(order: CommandOrder): string {
  return JSON.stringify({ op: 'command', command: order });
}

/** To apps following the twin: the whole command (as the HTTP API shows it) after a status change. */
export function commandEventFrame(command: Command): string {
  return JSON.stringify({ op: 'command', twin: command.twin, command: publicCommand(command) });
}

function resultOkFrame(ref: Ref | undefined): string {
  return JSON.stringify(ref === undefined ? { op: 'ok' } : { op: 'ok', ref });
}

/**
 * Makes the session a live sink of twin `twin`'s commands at once (before its delta is sent, so a
 * client that has seen the delta can count on direct commands reaching it); `sendOpen` then sends
 * the open commands. A command added in between is sent twice at most, never lost.
 */
export function attachCommandSink(twins: TwinService, twin: string, send: (frame: string) => void): { detach: () => void; sendOpen: () => Promise<void> } {
  const { commands } = twins;
  if (!commands.available) return { detach: () => {}, sendOpen: async () => {} };
  const detach = commands.attachSink(twin, (order) => {
    send(commandFrame(order));
    void commands.markDelivered(twin, order.id);
  });
  return {
    detach,
    // A failed read (storage) does not end the session: the commands stay open for the next contact.
    sendOpen: async () => {
      const open = await commands.deliverOpen(twin).catch(() => []);
      for (const order of open) send(commandFrame(order));
    },
  };
}

/** The device's answer, then `{"op":"ok","ref"}`; `command_ended` / `not_found` as errors. */
export async function answerCommand(twins: TwinService, twin: string, m: ResultMessage, send: (frame: string) => void): Promise<void> {
  await twins.commands.answer(twin, m.command, m.result === undefined ? { status: m.status } : { status: m.status, result: m.result });
  send(resultOkFrame(m.ref));
}
