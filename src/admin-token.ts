/**
 * The admin token (CONTRACT §4): from config/`DOPPEL_ADMIN_TOKEN`, else from `<data>/admin-token`,
 * else generated on first start, written there with mode 0600 and announced once.
 */
import { randomToken } from './auth/index.ts';
import type { Runtime } from './runtime/types.ts';

export async function resolveAdminToken(runtime: Runtime, dataDir: string, configured: string | undefined): Promise<{ token: string; generated: boolean; file: string | null }> {
  if (configured !== undefined) return { token: configured, generated: false, file: null };
  const file = runtime.joinPath(dataDir, 'admin-token');
  const existing = (await runtime.readTextFile(file))?.trim();
  if (existing !== undefined && existing !== '') return { token: existing, generated: false, file };
  const token = `dpa_${randomToken(32)}`;
  await runtime.writeSecretFile(file, `${token}\n`);
  return { token, generated: true, file };
}
