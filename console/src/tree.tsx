/** A JSON document as a tree: each leaf with its value, its age (metadata) and an out-of-sync mark. */
import type { Json, JsonObject } from './api.ts';
import { age, isObject } from './json.ts';

interface TreeProps { doc: JsonObject; meta?: Json | undefined; delta?: Json | undefined; now: number }

export function Tree({ doc, meta, delta, now }: TreeProps) {
  const keys = Object.keys(doc);
  if (keys.length === 0) return <p class="muted">{'{}'} (empty)</p>;
  return (
    <ul class="tree">
      {keys.map((k) => <Node key={k} name={k} value={doc[k]!} meta={isObject(meta) ? meta[k] : undefined} delta={isObject(delta) ? delta[k] : undefined} now={now} />)}
    </ul>
  );
}

function Node({ name, value, meta, delta, now }: { name: string; value: Json; meta: Json | undefined; delta: Json | undefined; now: number }) {
  if (isObject(value) && Object.keys(value).length > 0) {
    return <li><span class="key">{name}</span><Tree doc={value} meta={meta} delta={delta} now={now} /></li>;
  }
  const updatedAt = isObject(meta) && typeof meta.updatedAt === 'string' ? meta.updatedAt : null;
  const pending = delta !== undefined;
  return (
    <li class={pending ? 'leaf pending' : 'leaf'}>
      <span class="key">{name}</span> <code>{JSON.stringify(value)}</code>
      {pending && <span class="badge warn" title="differs between desired and reported">out of sync</span>}
      {updatedAt && <time class="age" dateTime={updatedAt} title={`written ${updatedAt}`}>{age(updatedAt, now)}</time>}
    </li>
  );
}
