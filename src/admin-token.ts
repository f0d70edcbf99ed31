/**
 * The admin token (CONTRACT §4): from config/`DOPPEL_ADMIN_TOKEN`, else from `<data>/admin-token`,
 * else generated on first start, written there with mode 0600 and announced once. A generated
 * token is only written by `save()`, which the server calls once it listens: a start that fails
 * (a busy port) leaves no token behind that nobody was shown.
 */
import { randomToken } from './auth/index.ts';
import type { Runtime } from './runtime/types.ts';

export interface AdminToken {
  token: string;
  /** True when this start made the token up; `save()` writes it to `file`. */
  generated: boolean;
  file: string | null;
  save(): Promise<void>;
}

export async function resolveAdminToken(runtime: Runtime, dataDir: string, configured: string | undefined): Promise<AdminToken> {
  const nothingToSave = async () => {};
  if (configured !== undefined) return { token: configured, generated: false, file: null, save: nothingToSave };
  const file = runtime.joinPath(dataDir, 'admin-token');
  const existing = (await runtime.readTextFile(file))?.trim();
  if (existing !== undefined && existing !== '') return { token: existing, generated: false, file, save: nothingToSave };
  const token = `dpa_${randomToken(32)}`;
  return { token, generated: true, file, save: () => runtime.writeSecretFile(file, `${token}\n`) };
}
