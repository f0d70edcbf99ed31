/**
 * The stylesheet of the protocol reference pages, served as a content-addressed file next to
 * Swagger UI's (a strict Content-Security-Policy forbids inline style). System fonts only: no
 * font file to fetch. Follows the reader's light or dark preference.
 */
export const REFERENCE_CSS = `:root {
  color-scheme: light dark;
  --fg: #1f2328; --muted: #59636e; --bg: #fff; --line: #d1d9e0; --code: #f6f8fa; --link: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --code: #161b22; --link: #4493f8; }
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--fg); background: var(--bg); line-height: 1.55;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--link); }
header { border-bottom: 1px solid var(--line); background: var(--code); }
nav { max-width: 64rem; margin: 0 auto; padding: .6rem 1.25rem; display: flex; flex-wrap: wrap; gap: .3rem 1.1rem; align-items: baseline; }
nav .home { font-weight: 600; margin-right: .4rem; }
nav a { text-decoration: none; }
nav a:hover { text-decoration: underline; }
nav a[aria-current="page"] { color: var(--fg); font-weight: 600; }
nav .aside { margin-left: auto; display: flex; gap: 1.1rem; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1.25rem 4rem; }
h1, h2, h3 { line-height: 1.25; margin: 1.8em 0 .6em; }
h1 { margin-top: .8em; font-size: 2em; }
h2 { padding-bottom: .3em; border-bottom: 1px solid var(--line); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .875em; }
code { background: var(--code); padding: .1em .35em; border-radius: 4px; }
pre { background: var(--code); padding: .9rem 1rem; border-radius: 6px; overflow-x: auto; line-height: 1.45; }
pre code { background: none; padding: 0; font-size: 1em; }
table { border-collapse: collapse; display: block; overflow-x: auto; margin: 1rem 0; }
th, td { border: 1px solid var(--line); padding: .35rem .7rem; vertical-align: top; text-align: left; }
th { background: var(--code); }
/* Long JSON frames in table cells wrap rather than push the table wider than the page. */
td code { overflow-wrap: anywhere; }
blockquote { margin: 1rem 0; padding: 0 1rem; color: var(--muted); border-left: .25em solid var(--line); }
`;
