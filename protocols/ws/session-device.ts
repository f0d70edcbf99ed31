/**
 * Device sessions (a twin's device token): the device is attached to its twin while connected
 * (online, `connection.via` "ws"), gets `{"op":"delta"}` on connect and whenever its delta changes,
 * reports its state (`report`), may read its own device view (`get`), is sent its twin's commands
 * (`command`) and answers them (`result`, see commands.ts). Nothing else: every other
 * op is `forbidden`, as for a device token over HTTP.
 */
import { openTwinStream, StreamCloser } from '../../actors/index.ts';
import type { StreamItem } from '../../actors/index.ts';
import { authorize } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import { deepEqual } from '../../src/twin/index.ts';
import type { JsonObject } from '../../src/twin/types.ts';
import { answerCommand, attachCommandSink } from './commands.ts';
import { deletedFrame, deltaFrame, deviceTwinFrame, okFrame } from './frames.ts';
import type { ClientMessage, GetMessage, ReportMessage } from './messages.ts';
import { CLOSE } from './session.ts';
import type { Session, SessionHandler } from './session.ts';

export function deviceHandler(session: Session): SessionHandler {
  const { twins } = session.deps;
  const principal = session.principal;
  if (principal.kind !== 'device') throw new DoppelError('internal', 'A device session needs a device principal');
  const twin = principal.twin;
  /** Closes the twin stream and its device attachment, also while it is still opening. */
  const stream = new StreamCloser();
  let lastDelta: JsonObject | null = null;
  const commandSink = attachCommandSink(twins, twin, (frame) => session.send(frame));

  const sendDelta = (version: number, delta: JsonObject) => {
    lastDelta = delta;
    session.send(deltaFrame(twin, version, delta));
  };

  const onItem = (item: StreamItem) => {
    if (item.type === 'snapshot') sendDelta(item.state.version, item.state.delta);
    else if (item.type === 'change') {
      // The twin math keeps the delta object when it did not change, so `!==` settles most cases.
      if (lastDelta === null || (item.event.delta !== lastDelta && !deepEqual(item.event.delta, lastDelta))) sendDelta(item.event.version, item.event.delta);
    } else {
      session.send(deletedFrame(twin));
      session.close(CLOSE.notFound.code, CLOSE.notFound.reason);
    }
  };

  /** The device's own twin: `twin` may be left out, and naming another one is forbidden. */
  const own = (m: { twin?: string | undefined }, action: 'device:read' | 'device:report') => {
    authorize(principal, action, m.twin ?? twin);
    return twin;
  };

  async function report(m: ReportMessage): Promise<void> {
    const id = own(m, 'device:report');
    const { state } = await twins.patch(id, { reported: m.reported }, {
      via: 'ws', deviceContact: true,
      ...(m.clientToken === undefined ? {} : { clientToken: m.clientToken }), ...(m.ifVersion === undefined ? {} : { ifVersion: m.ifVersion }),
    });
    session.send(okFrame(m.ref, state.version, { delta: state.delta, clientToken: m.clientToken }));
  }

  async function get(m: GetMessage): Promise<void> {
    const state = await twins.touch(own(m, 'device:read'), 'ws');
    session.send(deviceTwinFrame(m.ref, state));
  }

  return {
    async start() {
      try {
        // The stream holds the device attachment: online (via "ws") and resident while connected.
        await openTwinStream(twins, twin, { attach: 'ws', closer: stream }, onItem);
        // After the delta, the open commands (new ones reach the sink attached above).
        await commandSink.sendOpen();
      } catch (err) {
        // The twin went away between the handshake and now (its token goes with it), or the
        // server cannot take the session (draining, queue full): the device reconnects later.
        session.replyError(undefined, err);
        const close = (err as { code?: unknown }).code === 'not_found' ? CLOSE.notFound : CLOSE.unavailable;
        session.close(close.code, close.reason);
      }
    },
    ordered: () => false,
    handle(m: ClientMessage): Promise<void> {
      if (m.op === 'report') return report(m);
      if (m.op === 'get') return get(m);
      if (m.op === 'result') return answerCommand(twins, twin, m, (frame) => session.send(frame));
      throw new DoppelError('forbidden', `Forbidden: a device session may only "report", "get" and answer commands ("result") of its own twin, not "${m.op}"`);
    },
    dispose() {
      commandSink.detach();
      stream.close();
    },
  };
}
