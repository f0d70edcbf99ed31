/**
 * The connections of listed twins, asked of their owners (actors/owner-connections.ts says why).
 * One core NATS request per owning node and chunk of a listing, on `dpl.<ns>.conn.<node>`: the
 * ids in, `[id, connection]` out for every one of them whose shard that node holds and whose
 * actor is resident there.
 *
 * A node that does not answer in time (gone, partitioned, stalled) leaves its twins with their
 * stored connection: a listing degrades to what the store says rather than failing. A dead
 * node's sessions ended with it, so the stored contact is then also what its twins' next owner
 * will answer.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { decodeValue, encodeValue } from '../store/codec.ts';
import type { Connection } from '../twin/types.ts';
import { isTwinId } from '../twin/index.ts';
import type { Leases } from './leases.ts';
import { shardOf } from './shards.ts';

/** How long a listing waits for an owner's answer before using the stored connections. */
const ANSWER_TIMEOUT_MS = 2_000;
/** Ids per request at most (a listing asks 64 at a time); a bigger request is not answered. */
const MAX_IDS = 1_000;

const Request = z.array(z.string().refine(isTwinId)).max(MAX_IDS);
const Reply = z.array(z.tuple([z.string(), z.object({
  online: z.boolean(), via: z.enum(['http', 'coap', 'ws', 'system']).nullable(), lastSeenAt: z.string().nullable(),
})]));

export class ConnectionQuery {
  readonly #nc: NatsConnection;
  readonly #leases: Pick<Leases, 'holds' | 'holderOf'>;
  readonly #subjectOf: (node: string) => string;
  #sub: Subscription | null = null;

  constructor(nc: NatsConnection, leases: Pick<Leases, 'holds' | 'holderOf'>, namespace: string) {
    this.#nc = nc;
    this.#leases = leases;
    this.#subjectOf = (node) => `dpl.${namespace}.conn.${node}`;
  }

  /** The owners' connections of the twins among `ids` that another node owns and keeps resident. */
  async ask(ids: readonly string[]): Promise<Map<string, Connection>> {
    const byHolder = new Map<string, string[]>();
    for (const id of ids) {
      const shard = shardOf(id);
      if (this.#leases.holds(shard)) continue; // this node's own actors answer for themselves
      const holder = this.#leases.holderOf(shard);
      if (holder === undefined) continue;
      const held = byHolder.get(holder);
      if (held === undefined) byHolder.set(holder, [id]);
      else held.push(id);
    }
    const answers = await Promise.all([...byHolder].map(([holder, held]) => this.#askNode(holder, held)));
    return new Map(answers.flat());
  }

  async #askNode(node: string, ids: string[]): Promise<Array<[string, Connection]>> {
    try {
      const msg = await this.#nc.request(this.#subjectOf(node), encodeValue(ids), { timeout: ANSWER_TIMEOUT_MS });
      const reply = Reply.safeParse(decodeValue(msg.data));
      return reply.success ? reply.data : [];
    } catch {
      return []; // no responders, a timeout or a closed connection: the stored connections stand
    }
  }

  /** Answers other nodes' questions with `resident` (the twin service's resident actors). */
  serve(self: string, resident: (ids: string[]) => Array<[string, Connection]>): void {
    this.#sub = this.#nc.subscribe(this.#subjectOf(self), {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const ids = Request.safeParse(decodeValue(msg.data));
          if (!ids.success) return; // not a Doppel node's question: no answer
          msg.respond(encodeValue(resident(ids.data.filter((id) => this.#leases.holds(shardOf(id))))));
        } catch {
          // Undecodable bytes, or the connection closing while answering: the asker times out.
        }
      },
    });
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
  }
}
