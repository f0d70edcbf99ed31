/**
 * `doppel token issue <id>`: issues (or rotates) a twin's device token. The token goes alone on
 * stdout so `DEVICE=$(doppel token issue thermo-42)` works; the "shown once" warning goes to stderr.
 */
import { z } from 'zod';
import { commandGroup } from './group.ts';
import type { Action } from './group.ts';
import { expectReply } from './http-client.ts';

const TokenReply = z.object({ token: z.string() });

const issue: Action = {
  synopsis: '<id>',
  summary: 'Issue the device token of a twin, shown once; issuing again revokes the previous one',
  positionals: ['id'],
  async run(ctx) {
    const id = ctx.args.id!;
    const reply = await ctx.api.call('POST', `/v1/twins/${encodeURIComponent(id)}/token`);
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const { token } = expectReply(TokenReply, reply, 'a device token');
    ctx.out.note(`device token of ${id} (shown once; any previous token no longer works):`);
    ctx.out.line(token);
  },
};

export const tokenCommand = commandGroup('token', 'Issue device tokens on a running server (HTTP API).', { issue });
