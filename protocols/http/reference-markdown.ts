/**
 * The protocol reference's markdown (docs/reference/*.md) to HTML, with `marked` (GFM: tables,
 * fenced code) and `marked-gfm-heading-id` (GitHub's heading ids, so an anchor that works on the
 * repository's pages works on the served ones). The files are the project's own, shipped with
 * the package: their HTML is trusted, and the page's Content-Security-Policy blocks any script.
 */
import { Marked } from 'marked';
import type { Tokens } from 'marked';
import { gfmHeadingId } from 'marked-gfm-heading-id';

/** The pages, by the name they are served under (and their file's, without `.md`), with titles. */
export const REFERENCE_PAGES = {
  http: 'HTTP API', websocket: 'WebSocket API', coap: 'CoAP API', errors: 'Errors', limits: 'Limits',
} as const;
export type ReferencePage = keyof typeof REFERENCE_PAGES;

export const REFERENCE_PATH = '/docs/reference';

export function isReferencePage(name: string): name is ReferencePage {
  return Object.hasOwn(REFERENCE_PAGES, name);
}

/**
 * Where a link of a reference file leads once served: another page (`errors.md#x` →
 * `/docs/reference/errors#x`), unchanged for an absolute URL, an absolute path or an anchor, and
 * null for a repository file the server does not serve (`../../examples/coap.sh`).
 */
export function servedHref(href: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('/') || href.startsWith('#')) return href;
  const page = /^(?:\.\/)?([a-z]+)\.md(#.*)?$/.exec(href);
  if (page !== null && isReferencePage(page[1]!)) return `${REFERENCE_PATH}/${page[1]}${page[2] ?? ''}`;
  return null;
}

const markdown = new Marked({ gfm: true }, gfmHeadingId(), {
  renderer: {
    // A link to a file that is not served keeps its text (usually the file's path, in code).
    link(this: { parser: { parseInline(tokens: Tokens.Link['tokens']): string } }, token: Tokens.Link): string | false {
      const href = servedHref(token.href);
      if (href === null) return this.parser.parseInline(token.tokens);
      token.href = href;
      return false;
    },
  },
});

/** The HTML of one reference file. Synchronous: the heading-id extension keeps per-parse state. */
export function renderReference(text: string): string {
  return markdown.parse(text, { async: false });
}
