/**
 * `/.well-known/core` (RFC 6690): the resources a device can use, with resource types (`rt`),
 * content formats (`ct`) and observability (`obs`). Asked with `?token=<device token>`, it lists
 * the device's own twin's resources; without one, only the `/t` collection (RFC 6690 links are
 * URI references, so a `{id}` template cannot be listed).
 */
import { CBOR_FORMAT, JSON_FORMAT } from './formats.ts';

const CT = `ct="${JSON_FORMAT} ${CBOR_FORMAT}"`;

/**
 * RFC 6690 §5: comma-separated links.
 *
 * @example
 * linkFormat('thermo-42'); // '</t/thermo-42>;rt="doppel.twin";ct="50 60",</t/thermo-42/desired>;…;obs,…'
 */
export function linkFormat(twin?: string): string {
  if (twin === undefined) return `</t>;rt="doppel.twins";title="twins: GET /t/<id>?token=<device token>"`;
  const base = `/t/${encodeURIComponent(twin)}`;
  return [
    `<${base}>;rt="doppel.twin";${CT}`,
    `<${base}/desired>;rt="doppel.desired";${CT};obs`,
    `<${base}/delta>;rt="doppel.delta";${CT};obs`,
    `<${base}/reported>;rt="doppel.reported";${CT}`,
    `<${base}/commands>;rt="doppel.commands";${CT};obs`,
  ].join(',');
}
