import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../logger.js';
import { errorMessage } from '../../../errors/index.js';
import { DEFAULT_ADMIN_KEY_ID, type AdminKeys } from './auth.js';
import { readAdminKey, type AdminCredentials } from '../../../serving-client/admin-key-file.js';
import { ADMIN_KEY_ID_PATTERN } from '../../../serving-client/admin-signing.js';

/** Files of an admin keys folder: `<kid>.key`. */
export const ADMIN_KEY_SUFFIX = '.key';

/**
 * The admin keys the server accepts now: a fixed one (--admin-key-file / MODELSHIP_SERVING_ADMIN_KEY)
 * and every `<kid>.key` in the admin keys folder (--admin-keys-dir), read again for each admin
 * request, so a rotation adds and retires keys without a restart. A file that cannot be used
 * is left out and logged (its name and why, never its contents).
 */
export class AdminKeyring {
  private readonly reported = new Set<string>();

  constructor(
    private readonly fixed: AdminCredentials | undefined,
    private readonly dir: string | undefined,
    private readonly logger: Logger,
  ) {}

  async keys(): Promise<AdminKeys> {
    const keys = new Map<string, Uint8Array>();
    if (this.fixed) keys.set(this.fixed.kid ?? DEFAULT_ADMIN_KEY_ID, Buffer.from(this.fixed.secret, 'utf8'));
    if (!this.dir) return keys;
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith(ADMIN_KEY_SUFFIX)).sort();
    } catch (err) {
      this.report(`cannot list the admin keys folder ${this.dir}: ${errorMessage(err)}`);
      return keys;
    }
    for (const name of names) {
      const kid = name.slice(0, -ADMIN_KEY_SUFFIX.length);
      const path = join(this.dir, name);
      if (!ADMIN_KEY_ID_PATTERN.test(kid)) {
        this.report(`${path}: the file name is not a key id (${ADMIN_KEY_ID_PATTERN}); skipped`);
        continue;
      }
      try {
        const key = await readAdminKey(path);
        if (key.kid !== undefined && key.kid !== kid) throw new Error(`it names kid ${key.kid}, not ${kid}`);
        keys.set(kid, Buffer.from(key.secret, 'utf8'));
      } catch (err) {
        // A key removed between listing and reading is simply retired.
        if ((err as { cause?: { code?: string } }).cause?.code === 'ENOENT' || /ENOENT/.test(errorMessage(err))) continue;
        this.report(`${path}: ${errorMessage(err)}; skipped`);
      }
    }
    return keys;
  }

  private report(problem: string): void {
    if (this.reported.has(problem)) return;
    this.reported.add(problem);
    this.logger.error({ problem }, 'admin key not usable');
  }
}
