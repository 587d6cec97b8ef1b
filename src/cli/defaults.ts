import { join } from 'node:path';
import { DATA_DIR } from '../paths.js';

/** Where `keys generate` writes and `release` signs from by default (light: main.ts loads it at start). */
export const DEFAULT_KEYS_DIR = join(DATA_DIR, 'keys');
export const DEFAULT_KEY_NAME = 'release';
export const DEFAULT_SIGNING_KEY = join(DEFAULT_KEYS_DIR, `${DEFAULT_KEY_NAME}.key.pem`);

/** Schedule overlap policies, as `--overlap` spells them (Temporal's names in kebab case). */
export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all'] as const;
