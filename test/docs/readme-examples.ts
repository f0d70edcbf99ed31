/**
 * The README shows each walkthrough of examples/ verbatim in a marked block:
 *
 *     <!-- example: examples/coap.sh -->
 *     ```sh
 *     …the file…
 *     ```
 *     <!-- /example -->
 *
 * `withExamples` rewrites those blocks from the files; readme-examples.test.ts fails when the
 * README differs from that, and `npx vitest run test/docs/readme-examples.test.ts -u` updates it.
 */

/** Every walkthrough, in README order; walkthroughs.test.ts runs each against a real server. */
export const EXAMPLES = ['examples/http.sh', 'examples/coap.sh', 'examples/websocket.mjs', 'examples/commands.sh'] as const;

const BLOCK = /<!-- example: (\S+) -->\n```(\w*)\n[\s\S]*?```\n<!-- \/example -->/g;

/** The fence language a file is shown with. */
function language(file: string): string {
  if (file.endsWith('.sh')) return 'sh';
  if (file.endsWith('.mjs') || file.endsWith('.js')) return 'js';
  throw new Error(`No fence language for example ${file}`);
}

/** The example files the README's marked blocks name, in order. */
export function exampleBlocks(readme: string): string[] {
  return [...readme.matchAll(BLOCK)].map((m) => m[1]!);
}

/** The README with every marked block holding its file's current text. */
export function withExamples(readme: string, read: (file: string) => string): string {
  return readme.replace(BLOCK, (_block, file: string) => {
    const text = read(file);
    if (text.includes('```')) throw new Error(`${file} contains a code fence and cannot be shown in the README`);
    return `<!-- example: ${file} -->\n\`\`\`${language(file)}\n${text.endsWith('\n') ? text : `${text}\n`}\`\`\`\n<!-- /example -->`;
  });
}
