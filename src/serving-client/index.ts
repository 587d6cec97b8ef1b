// The serving runtime's admin client, apart from the server: the worker's canary activities, the
// CLI and the tests use it. Request signing is here because client and server share the scheme.
export { ServingAdminClient, adminCredentialsFromEnvironment, type AdminCredentials, type AdminCredentialsSource, type ServingAdminClientOptions, type ObservationsResponse } from './admin-client.js';
export { signAdminRequest, canonicalAdminRequest, ADMIN_HEADERS } from './admin-signing.js';
export type { AdminResult, ModelStatus, SlotStatus } from '../serving/control/model-catalog.js';
