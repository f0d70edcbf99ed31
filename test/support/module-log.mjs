// Node `--import` hook for tests: writes every module the process resolves to stderr, one
// `resolved <url>` line each, so a test can tell what a start loaded (and what it did not).
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write('resolved ' + result.url + '\\n');
  return result;
}`));
