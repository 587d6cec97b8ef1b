import type { Mount } from '../http/mount.js';
import { adminMount, type AdminDeps } from './admin/routes.js';
import { oipV2Mount } from './oip-v2/routes.js';
import { opsMount } from './ops/mount.js';
import { v1Mount } from './v1/mount.js';

/** Every protocol the runtime speaks. A new one (gRPC-over-HTTP, say) is a folder here and one line below. */
export function protocolMounts(deps: AdminDeps): Mount[] {
  return [opsMount(deps), v1Mount(deps), oipV2Mount(deps), adminMount(deps)];
}
