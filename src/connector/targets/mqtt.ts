/**
 * @module
 * MQTT target: publishes each event with QoS 1 to `<topic>/<twin id>` (twin ids hold no `/`, `+`
 * or `#`, so they are one plain topic level) and counts it delivered on the broker's PUBACK.
 */
import type { MqttClient } from 'mqtt';
import type { OutboxEntry } from '../../store/types.ts';
import { DeliveryError, withTimeout } from './target.ts';
import type { Target } from './target.ts';

const TIMEOUT_MS = 10_000;

export function mqttTarget(opts: { url: string; topic: string; clientId: string }): Target {
  let client: Promise<MqttClient> | null = null;
  let closed = false;
  const connected = (): Promise<MqttClient> => {
    // Loaded on first use: a server without MQTT connectors never loads the client library. The
    // client keeps retrying a broker that is down; a later close ends it whenever it connects.
    client ??= import('mqtt')
      .then(({ connectAsync }) => connectAsync(opts.url, { clientId: opts.clientId, reconnectPeriod: 1000, connectTimeout: 5000, clean: true }))
      .then((c) => { if (closed) void c.endAsync(true); return c; }, (err: unknown) => { client = null; throw err; });
    return client;
  };
  return {
    async send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      try {
        const c = await withTimeout(connected(), TIMEOUT_MS, 'MQTT connect', signal);
        if (!c.connected) throw new DeliveryError('MQTT broker not connected');
        await withTimeout(c.publishAsync(`${opts.topic}/${entry.twin}`, body, { qos: 1 }), TIMEOUT_MS, 'MQTT publish', signal);
      } catch (err) {
        throw err instanceof DeliveryError ? err : new DeliveryError(`MQTT publish failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async close(): Promise<void> {
      closed = true;
      const pending = client;
      client = null;
      // Never waits for a broker that is down: a pending connection is ended when it settles.
      if (pending !== null) await withTimeout(pending.then((c) => c.endAsync(true)), 2000, 'MQTT close').catch(() => undefined);
    },
  };
}
