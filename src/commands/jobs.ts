/**
 * `doppel jobs start|status|list|cancel`: fleet jobs over the HTTP API. `start` prints the job's
 * id (with `--wait`, follows it to its end and prints its counts).
 */
import { z } from 'zod';
import { intFlag, parseJson, stringFlag, usageError } from './args.ts';
import { commandGroup } from './group.ts';
import type { Action } from './group.ts';
import { expectReply } from './http-client.ts';

const JobRow = z.object({
  id: z.string(), status: z.string(), filter: z.string(), prefix: z.string(),
  matched: z.number(), done: z.number(), failed: z.number(), scanned: z.number(), createdAt: z.string(),
});
const JobList = z.object({ items: z.array(JobRow) });

const path = (id?: string) => (id === undefined ? '/v1/jobs' : `/v1/jobs/${encodeURIComponent(id)}`);
const counts = (j: z.infer<typeof JobRow>) => `${j.status}: matched ${j.matched}, done ${j.done}, failed ${j.failed}, scanned ${j.scanned}`;

const start: Action = {
  synopsis: '<filter> (--desired JSON | --command NAME --ttl SECONDS [--payload JSON]) [--prefix P] [--wait]',
  summary: 'Start a fleet job: a desired patch or a queued command on every twin the filter selects (prints its id)',
  positionals: ['filter'],
  flags: { desired: 'string', command: 'string', ttl: 'string', payload: 'string', prefix: 'string', wait: 'boolean' },
  async run(ctx) {
    const rawDesired = stringFlag(ctx.flags, 'desired');
    const name = stringFlag(ctx.flags, 'command');
    if ((rawDesired === undefined) === (name === undefined)) throw usageError(ctx.context, 'give exactly one of --desired or --command');
    const prefix = stringFlag(ctx.flags, 'prefix');
    const body: Record<string, unknown> = { filter: ctx.args.filter, ...(prefix === undefined ? {} : { prefix }) };
    if (rawDesired !== undefined) {
      body.desired = parseJson(rawDesired, '--desired', ctx.context);
    } else {
      const ttlSeconds = intFlag(ctx.flags, 'ttl', ctx.context, 1, 2_592_000);
      if (ttlSeconds === undefined) throw usageError(ctx.context, '--command needs --ttl SECONDS (a job queues its command)');
      const raw = stringFlag(ctx.flags, 'payload');
      body.command = { name, ttlSeconds, ...(raw === undefined ? {} : { payload: parseJson(raw, '--payload', ctx.context) }) };
    }
    let job = expectReply(JobRow, await ctx.api.call('POST', path(), { body }), 'a job');
    if (ctx.flags.wait !== true) {
      if (ctx.out.json) { ctx.out.document(job); return; }
      ctx.out.note(`started job ${job.id}`);
      ctx.out.line(job.id);
      return;
    }
    while (job.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = expectReply(JobRow, await ctx.api.call('GET', path(job.id)), 'a job');
    }
    if (ctx.out.json) { ctx.out.document(job); return; }
    ctx.out.line(`${job.id} ${counts(job)}`);
  },
};

const status: Action = {
  synopsis: '<id>',
  summary: 'Show a job and its progress',
  positionals: ['id'],
  async run(ctx) {
    ctx.out.document(await ctx.api.call('GET', path(ctx.args.id!)));
  },
};

const list: Action = {
  synopsis: '',
  summary: 'List fleet jobs, newest first',
  positionals: [],
  async run(ctx) {
    const reply = await ctx.api.call('GET', path());
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const { items } = expectReply(JobList, reply, 'a list of jobs');
    ctx.out.table(['ID', 'STATUS', 'MATCHED', 'DONE', 'FAILED', 'FILTER'], items.map((j) => [j.id, j.status, String(j.matched), String(j.done), String(j.failed), j.filter]), '(no jobs)');
  },
};

const cancel: Action = {
  synopsis: '<id>',
  summary: 'Cancel a running job (what it applied stays)',
  positionals: ['id'],
  async run(ctx) {
    const reply = await ctx.api.call('DELETE', path(ctx.args.id!));
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const job = expectReply(JobRow, reply, 'a job');
    ctx.out.line(`cancelled job ${job.id} (${counts(job)})`);
  },
};

export const jobsCommand = commandGroup('jobs', 'Start and follow fleet jobs (a desired patch or a queued command on many twins) on a running server.', { start, status, list, cancel });
