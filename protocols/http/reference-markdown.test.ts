import { describe, expect, it } from 'vitest';
import { isReferencePage, renderReference, servedHref } from './reference-markdown.ts';

describe('servedHref', () => {
  it('turns a link to another reference file into its served page, keeping the anchor', () => {
    expect(servedHref('errors.md')).toBe('/docs/reference/errors');
    expect(servedHref('./limits.md#coap')).toBe('/docs/reference/limits#coap');
    expect(servedHref('websocket.md#close-codes')).toBe('/docs/reference/websocket#close-codes');
  });

  it('leaves absolute URLs, absolute paths and anchors alone', () => {
    for (const href of ['https://www.rfc-editor.org/rfc/rfc7252', 'mailto:a@b.c', '/asyncapi.json', '#close-codes']) expect(servedHref(href)).toBe(href);
  });

  it('has no page for a file the server does not serve', () => {
    for (const href of ['../../examples/coap.sh', 'README.md', 'other.md', '../reference/errors.md', 'toString.md']) expect(servedHref(href), href).toBeNull();
  });
});

describe('isReferencePage', () => {
  it('knows the five pages and nothing inherited', () => {
    expect(['http', 'websocket', 'coap', 'errors', 'limits'].every(isReferencePage)).toBe(true);
    for (const name of ['toString', '__proto__', 'constructor', 'Errors', '']) expect(isReferencePage(name), name).toBe(false);
  });
});

describe('renderReference', () => {
  it('gives headings GitHub ids, unique within a page, anew for each page', () => {
    const md = '# WebSocket API\n\n## Requests (client → server)\n\n## `GET /v1/ws`\n\n## Limits\n\n## Limits\n';
    const html = renderReference(md);
    expect([...html.matchAll(/<h\d id="([^"]+)"/g)].map((m) => m[1])).toEqual(['websocket-api', 'requests-client--server', 'get-v1ws', 'limits', 'limits-1']);
    // A second page starts its count again (no "-2" carried over).
    expect(renderReference('## Limits\n')).toContain('<h2 id="limits">');
  });

  it('rewrites links between the files and unwraps links to files that are not served', () => {
    const html = renderReference('See [errors](errors.md#codes), [the client](../../examples/websocket.mjs) and [RFC 7252](https://www.rfc-editor.org/rfc/rfc7252).');
    expect(html).toContain('<a href="/docs/reference/errors#codes">errors</a>');
    expect(html).toContain('See <a href="/docs/reference/errors#codes">errors</a>, the client and');
    expect(html).toContain('<a href="https://www.rfc-editor.org/rfc/rfc7252">RFC 7252</a>');
    expect(html).not.toContain('examples');
  });

  it('renders GFM tables and fenced code, escaping the code', () => {
    const html = renderReference('| a | b |\n|---|---|\n| `<x>` | 2 |\n\n```json\n{"op":"get"}\n```\n');
    expect(html).toContain('<table>');
    expect(html).toContain('<code>&lt;x&gt;</code>');
    expect(html).toContain('<pre><code class="language-json">{&quot;op&quot;:&quot;get&quot;}');
  });
});
