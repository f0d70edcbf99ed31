// The command relay between two "nodes" (two relays, two connections) on a real nats-server:
// presence answers while a session is attached and not after, pushes and changes reach the other
// node only (the sender's own sessions and listeners are told directly), and a reconnect
// re-announces the sessions attached meanwhile.
import { describe, expect, it } from 'vitest';
import { natsForFile } from '../../test/support/nats-file.ts';
import { eventually } from '../../test/support/eventually.ts';
import type { Command, CommandOrder } from '../twin/commands.ts';
import { NatsCommandRelay } from './command-relay.ts';

const { open } = natsForFile();

const order: CommandOrder = { id: '1', name: 'reboot', payload: null };
const command: Command = { id: '1', twin: 'a.b', name: 'reboot', payload: null, status: 'queued', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

describe('NatsCommandRelay', () => {
  it('answers presence while a session is attached, delivers pushes and changes to other nodes only', async () => {
    const owner = new NatsCommandRelay('a', 'relaytest');
    const session = new NatsCommandRelay('b', 'relaytest');
    owner.connect(await open());
    session.connect(await open());
    const got: CommandOrder[] = [];
    const ownGot: CommandOrder[] = [];
    const heard: Command[] = [];
    const ownHeard: Command[] = [];
    session.onChange((c) => heard.push(c));
    owner.onChange((c) => ownHeard.push(c));
    expect(await owner.elsewhere('a.b')).toBe(false);
    const detach = session.present('a.b', (o) => got.push(o));
    const ownDetach = owner.present('a.b', (o) => ownGot.push(o));
    await eventually(async () => ((await owner.elsewhere('a.b')) ? true : undefined), 'presence of the session on node b');
    expect(await owner.elsewhere('a.c')).toBe(false); // another twin (and `.` in ids is escaped)
    owner.push('a.b', order);
    owner.changed(command);
    await eventually(async () => (got.length === 1 && heard.length === 1 ? true : undefined), 'the push and the change on node b');
    expect(got).toEqual([order]);
    expect(heard).toEqual([command]);
    expect(ownGot).toEqual([]);
    expect(ownHeard).toEqual([]);
    detach();
    ownDetach();
    await eventually(async () => ((await owner.elsewhere('a.b')) ? undefined : true), 'no presence once detached');
    owner.stop();
    session.stop();
  });

  it('re-announces sessions attached before it connected', async () => {
    const owner = new NatsCommandRelay('a', 'relaytest2');
    const session = new NatsCommandRelay('b', 'relaytest2');
    owner.connect(await open());
    const detach = session.present('t', () => {});
    expect(await owner.elsewhere('t')).toBe(false);
    session.connect(await open());
    await eventually(async () => ((await owner.elsewhere('t')) ? true : undefined), 'presence after connecting');
    detach();
    owner.stop();
    session.stop();
  });
});
