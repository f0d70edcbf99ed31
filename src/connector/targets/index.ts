/**
 * @module
 * The target a connector delivers through, built from its stored definition (one per worker).
 */
import type { StoredConnector } from '../../store/types.ts';
import { mqttTarget } from './mqtt.ts';
import { natsTarget } from './nats.ts';
import type { Target } from './target.ts';
import { webhookTarget } from './webhook.ts';

export function targetOf(def: StoredConnector): Target {
  switch (def.kind) {
    case 'webhook': return webhookTarget({ url: def.url, secret: def.secret ?? '', ...(def.timeoutSeconds === undefined ? {} : { timeoutMs: def.timeoutSeconds * 1000 }) });
    case 'nats': return natsTarget({ url: def.url, subject: def.subject ?? '' });
    case 'mqtt': return mqttTarget({ url: def.url, topic: def.topic ?? '', clientId: `doppel-${def.id}-${Math.random().toString(36).slice(2, 8)}` });
  }
}
