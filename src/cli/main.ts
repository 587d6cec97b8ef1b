import { Command, CommanderError, Option } from 'commander';
import { MODELSHIP_VERSION } from '../paths.js';
// The base class alone: the full error index (every module's errors) costs ~10 ms at start, and only instanceof is needed here.
import { ModelshipError } from '../errors/base.js';
import { CliError, describeError, printJsonError, wantsJson, warn } from './output.js';
import { DEFAULT_KEY_NAME, DEFAULT_KEYS_DIR, DEFAULT_SIGNING_KEY, OVERLAP_POLICIES } from './defaults.js';


/**
 * A command's module is loaded when the command runs, not at start: `modelship sign` should not
 * pay for the Temporal client, onnxruntime and the rest (about 0.2 s of a short command).
 */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    await (await load())(...args);
  };
}

/** For repeatable options: --cron A --cron B. */
const collect = (value: string, previous: string[]) => [...previous, value];

const program = new Command('modelship')
  .description('Signed, attested, smoke-tested ML model releases on Temporal')
  .version(MODELSHIP_VERSION)
  .enablePositionalOptions()
  .showHelpAfterError()
  // Usage errors come back here (below) so --json can report them as JSON too.
  .exitOverride();

const keys = program.command('keys').description('manage signing keys');
keys
  .command('generate')
  .description('write an encrypted Ed25519 key pair and print its kid (passphrase from MODELSHIP_KEY_PASSPHRASE or MODELSHIP_KEY_PASSPHRASE_FILE)')
  .option('--dir <dir>', 'where to write the key files', DEFAULT_KEYS_DIR)
  .option('--name <name>', 'file name stem', DEFAULT_KEY_NAME)
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./keys.js')).keysGenerate));
keys
  .command('list')
  .description('list the keyring: each kid, whether it is valid, expired or revoked (and why), and which keys sign')
  .option('--dir <dir>', 'keys folder', DEFAULT_KEYS_DIR)
  .option('--keyring <file>', 'keyring file (default <dir>/keyring.json)')
  .option('--policy <file>', 'also check this trust policy against the keyring')
  .option('--at <time>', 'status at this ISO 8601 time instead of now')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./keys.js')).keysList));
keys
  .command('rotate')
  .description('generate a new signing key and add it to the keyring; releases are signed by old and new until the old key is retired')
  .option('--dir <dir>', 'keys folder', DEFAULT_KEYS_DIR)
  .option('--keyring <file>', 'keyring file (default <dir>/keyring.json)')
  .option('--name <name>', 'file name stem of the new key (default release-<date>)')
  .option('--retire-old-after <days>', 'the keys signing now expire after this many days')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./keys.js')).keysRotate));
keys
  .command('revoke')
  .description('revoke a key: from now (or --at) on, nothing it signed verifies')
  .argument('<kid>', 'kid to revoke (see keys list)')
  .requiredOption('--reason <text>', 'why; shown by every verifier that refuses it')
  .option('--dir <dir>', 'keys folder', DEFAULT_KEYS_DIR)
  .option('--keyring <file>', 'keyring file (default <dir>/keyring.json)')
  .option('--at <time>', 'revoked from this ISO 8601 time (default now)')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./keys.js')).keysRevoke));

program
  .command('release')
  .description('release a model: export, hash, sign, attest, smoke-test; follows each stage')
  .argument('<model>', 'an ONNX file, a folder holding one ONNX model, or (with --exporter) a training artifact')
  .requiredOption('--name <name>', 'model name')
  .requiredOption('--version <version>', 'model version')
  .option('--key <path>', 'encrypted signing key, as the worker sees it', DEFAULT_SIGNING_KEY)
  .option('--exporter <name>', 'exporter the worker runs to turn <model> into ONNX (e.g. sklearn)')
  .option('--exporter-timeout <seconds>', 'shorter exporter timeout than the worker default')
  .option('--smoke-inputs <path>', 'smoke test inputs instead of generated ones: .json, .npy, .npz, TensorProto .pb, or a folder of .npy/.pb')
  .option('--smoke-data <path>', 'reference inputs with the outputs your framework produced, compared with the sandbox\'s: an ONNX test_data_set folder (input_N.pb, output_N.pb) or an .npz (inputs/<name>, outputs/<name>)')
  .option('--smoke-seed <n>', 'seed for generated smoke inputs (default 1)')
  .option('--smoke-shape <input=AxBxC>', 'shape of a generated input, e.g. x=1x3x224x224 (repeatable)', collect, [])
  .option('--smoke-dim <name=size>', 'size of a symbolic dimension in generated inputs, e.g. batch=1 (repeatable)', collect, [])
  .option('--smoke-int-range <[input=]min:max>', 'range of generated integer values, e.g. 0:255, or input_ids=0:30521 for one input (repeatable)', collect, [])
  .option('--smoke-plugin <wasm...>', 'your own Extism plugin(s) to check the outputs, run sandboxed')
  .option('--smoke-tolerance <[output=]atol[:rtol]>', 'allowed |sandbox - native| <= atol + rtol*|native| (default 1e-4:1e-3); output=... for one output (repeatable)', collect, [])
  .option('--smoke-timeout <seconds>', 'sandbox deadline per call (default 30)')
  .option('--smoke-max-memory-mib <MiB>', 'ceiling of the sandbox engine\'s linear memory (default 2048, at most 4095: wasm32)')
  .option('--allow-symlinks', 'follow symbolic links to files inside a model folder (links out of it are always refused)')
  .option('--allow-unsupported', 'warn instead of failing when the sandbox engine cannot load the model')
  .option('--canary <plan.json>', 'canary plan (JSON: steps, policy, maxExtensions, approvalTimeoutSeconds); default plan otherwise')
  .option('--no-canary', 'do not deploy: the release ends with its verified bundle')
  .addOption(new Option('--no-follow', 'start the release and return'))
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./release.js')).releaseCommand));

program
  .command('status')
  .description('show where a release is: every stage with its state, duration and key figures (from history; live canary phase from a worker)')
  .argument('<release-id>', 'e.g. release-sample-mlp-1.0.0')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./status.js')).statusCommand));

program
  .command('list')
  .description('list recent releases, newest first, filtered by the search attributes (Temporal visibility)')
  .option('--model <name>', 'only this model (ModelName)')
  .option('--stage <stage>', 'only releases at this ReleaseStage (export … canary, paused, released, promoted, rolled_back, failed)')
  .option('--verdict <verdict>', 'only this Verdict (pending, pass, fail, inconclusive, promoted, rolled_back, failed)')
  .option('--limit <n>', 'at most this many', '20')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./list.js')).listCommand));

program
  .command('setup-namespace')
  .description("register modelship's search attributes on the namespace (TEMPORAL_NAMESPACE) of any cluster, through the operator API; idempotent, says what it changed")
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./setup-namespace.js')).setupNamespaceCommand));

program
  .command('report')
  .description('write a self-contained HTML report of a release from its history: stages and timings, verification, canary charts, decision log')
  .argument('<release-id>', 'e.g. release-sample-mlp-2.0.0')
  .option('-o, --output <file.html>', 'where to write it (default <release-id>.html)')
  .option('--json', 'print the report model and the file as JSON')
  .action(lazy(async () => (await import('./report.js')).reportCommand));

program
  .command('verify')
  .description('re-hash a release bundle and check its manifest, JWS and attestations; or, with --format oms, a model folder against an OpenSSF model-signing bundle')
  .argument('<bundle>', 'bundle folder, a registry reference (host/repo:version@sha256:…) or oci-layout:<dir>:version (or model folder with --format oms)')
  .option('--key <path>', 'trusted public key (Ed25519 SPKI PEM or JWK; an ECDSA PEM for --format oms)')
  .option('--keyring <file>', 'keyring.json: known keys, their validity and revocations (with --policy, instead of --key)')
  .option('--policy <file>', 'trust policy (YAML or JSON): trusted kids and threshold per model name (with --keyring)')
  .option('--at <time>', 'judge key validity and revocation at this ISO 8601 time instead of now (with --policy)')
  .option('--format <format>', 'modelship (default) or oms', 'modelship')
  .option('--signature <file>', 'the OpenSSF model-signing bundle (--format oms)')
  .option('--plain-http', 'talk http to the registry (default for localhost; MODELSHIP_REGISTRY_PLAIN_HTTP=1)')
  .option('--json', 'print the report as JSON')
  .action(async (bundle: string, options: { key?: string; keyring?: string; policy?: string; at?: string; format: string; signature?: string; json?: boolean; plainHttp?: boolean }) => {
    if (options.format !== 'oms') return (await import('./verify.js')).verifyCommand(bundle, options);
    if (options.key === undefined) throw new CliError('--format oms needs --key');
    return (await import('./oms.js')).verifyOmsCli(bundle, { ...options, key: options.key });
  });

program
  .command('push')
  .description('push a release bundle to a registry (or an OCI layout folder) as a ModelPack artifact with its signature and attestations as referrers')
  .argument('<bundle>', 'bundle folder')
  .argument('<ref>', 'host[:port]/repository:version, or oci-layout:<dir>:version')
  .option('--plain-http', 'talk http to the registry (default for localhost)')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./oci.js')).pushCommand));

program
  .command('pull')
  .description('pull a bundle by reference into a folder, checking every digest (blobs come from the local cache when it has them)')
  .argument('<ref>', 'host[:port]/repository:version[@sha256:…], or oci-layout:<dir>:version')
  .argument('<dir>', 'folder to write the bundle into (laid out as a release bundle)')
  .option('--no-cache', 'write blobs straight into <dir>, keeping none in the host cache')
  .option('--plain-http', 'talk http to the registry (default for localhost)')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./oci.js')).pullCommand));

program
  .command('sign')
  .description('sign a model folder in the OpenSSF model-signing format (Sigstore bundle, DSSE, ECDSA key)')
  .argument('<model>', 'model folder or file')
  .requiredOption('--format <format>', 'oms')
  .requiredOption('--key <path>', 'ECDSA P-256/384/521 private key PEM (passphrase from MODELSHIP_KEY_PASSPHRASE if encrypted)')
  .requiredOption('--out <file>', 'where to write the bundle (e.g. model.sig)')
  .option('--digest-cache <file>', 'reuse digests of files unchanged (same inode, size, mtime, ctime) since the last run with this cache')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./oms.js')).signCommand));

for (const [control, help] of [
  ['approve', 'approve a paused canary so it goes on'],
  ['promote', 'promote a canary to its next step (or fully, with --full)'],
  ['abort', 'abort a canary: it is rolled back'],
] as const) {
  const command = program.command(control).description(help).argument('<release-id>', 'e.g. release-sample-mlp-2.0.0');
  if (control === 'promote') command.option('--full', 'skip the remaining steps');
  if (control === 'abort') command.option('--reason <text>', 'recorded with the decision');
  command.option('--json', 'print the answer as JSON');
  command.action(async (releaseId: string, options: { full?: boolean; reason?: string; json?: boolean }) => (await import('./operate.js')).controlCommand(control, releaseId, options));
}

const batch = program.command('batch').description('release many models from a rollout file, in waves, with a global halt');
batch
  .command('start')
  .description('start a batch rollout (BatchRolloutWorkflow) from a rollout file (YAML or JSON), validated here first')
  .argument('<rollout-file>', 'the rollout: models (name, version, path, canary, smoke) and batch settings')
  .option('--id <batch-id>', 'batch id (workflow batch-<id>; the BatchId search attribute of every release); default <rollout name>-<time>')
  .option('--wait', 'follow the batch, print each release as it ends and the summary; exit 1 if any failed or rolled back')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./batch.js')).batchStartCommand));
batch
  .command('status')
  .description('show a batch: every release with its outcome and reason, the totals, the halt')
  .argument('<batch-id>', 'batch id or its workflow id (batch-...)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./batch.js')).batchStatusCommand));
batch
  .command('halt')
  .description('halt a batch: no further releases start; running ones are aborted or let finish (the rollout\'s halt.onHalt)')
  .argument('<batch-id>', 'batch id or its workflow id (batch-...)')
  .option('--reason <text>', 'recorded in the summary and given to aborted releases')
  .action(lazy(async () => (await import('./batch.js')).batchHaltCommand));

const schedule = program.command('schedule').description('Temporal Schedules that start batch rollouts');
const overlapHelp = `what a run does while the previous batch still runs: ${OVERLAP_POLICIES.join(', ')}`;
schedule
  .command('create')
  .description('create a schedule whose runs start a batch from <rollout-file> (parsed now and stored in the schedule)')
  .argument('<schedule-id>', 'schedule id; runs are workflows batch-<schedule-id>-<scheduled time>')
  .argument('<rollout-file>', 'the rollout (YAML or JSON)')
  .option('--cron <expression>', 'cron expression, e.g. "0 3 * * *" (repeatable)', collect, [])
  .option('--interval <duration>', 'every so long, e.g. 6h (repeatable)', collect, [])
  .option('--timezone <tz>', 'time zone of the cron expressions (default UTC)')
  .option('--overlap <policy>', overlapHelp, 'skip')
  .option('--catchup-window <duration>', 'runs missed while Temporal was down are still taken within this window (e.g. 10m; default 1 year)')
  .option('--paused', 'create it paused')
  .option('--note <text>', 'a note shown with the schedule (why it is paused, ...)')
  .option('--overwrite', 'replace an existing schedule of this id (the way to pick up an edited rollout file)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./schedule.js')).scheduleCreateCommand));
schedule.command('list').description('list the batch schedules').option('--json', 'print as JSON').action(lazy(async () => (await import('./schedule.js')).scheduleListCommand));
schedule
  .command('describe')
  .description('show a schedule: spec, policies, state, the rollout, next and recent runs')
  .argument('<schedule-id>')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./schedule.js')).scheduleDescribeCommand));
for (const [verb, pause] of [['pause', true], ['unpause', false]] as const) {
  schedule
    .command(verb)
    .description(pause ? 'pause a schedule (no runs until unpaused)' : 'unpause a schedule')
    .argument('<schedule-id>')
    .option('--note <text>', 'why')
    .action(async (id: string, options: { note?: string }) => (await import('./schedule.js')).schedulePauseCommand(id, pause, options));
}
schedule
  .command('trigger')
  .description('run the schedule\'s action now (a batch), and name the batch it started')
  .argument('<schedule-id>')
  .option('--overlap <policy>', `for this run only (default allow-all): ${overlapHelp}`)
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./schedule.js')).scheduleTriggerCommand));
schedule
  .command('backfill')
  .description('take the runs the schedule would have taken between two times')
  .argument('<schedule-id>')
  .requiredOption('--start <time>', 'ISO 8601 start')
  .requiredOption('--end <time>', 'ISO 8601 end')
  .option('--overlap <policy>', `for the backfilled runs (default: the schedule's): ${overlapHelp}`)
  .action(lazy(async () => (await import('./schedule.js')).scheduleBackfillCommand));
schedule.command('delete').description('delete a schedule (batches it started keep running)').argument('<schedule-id>').action(lazy(async () => (await import('./schedule.js')).scheduleDeleteCommand));

program
  .command('rollback')
  .description('roll a served model back now: clear its canary, or restore the previous stable')
  .argument('<model>', 'model name on the serving runtime')
  .option('--url <url>', 'serving runtime (default MODELSHIP_SERVING_URL or http://127.0.0.1:8300)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./operate.js')).rollbackCommand));

program
  .command('serve')
  .description('run the serving runtime (stable and canary slots, admin API, /metrics)')
  .allowUnknownOption()
  .helpOption(false)
  .argument('[options...]', '--port, --host, --state-dir, --trusted-keys-dir, --admin-key-file, --admin-keys-dir')
  .action(async (args: string[]) => {
    const { main } = await import('../serving/serve.js');
    await main(args);
  });

const serving = program.command('serving').description('operate the serving runtime');
serving
  .command('rotate-admin-key')
  .description('replace the admin key without a failed call: introduce a new key on the server, switch the clients\' key file, retire the old key')
  .option('--keys-dir <dir>', 'the serving runtime\'s --admin-keys-dir (default MODELSHIP_SERVING_ADMIN_KEYS_DIR)')
  .option('--key-file <file>', 'the key file workers and the CLI sign with (default MODELSHIP_SERVING_ADMIN_KEY_FILE)')
  .option('--url <url>', 'serving runtime (default MODELSHIP_SERVING_URL or http://127.0.0.1:8300)')
  .option('--kid <id>', 'id of the new key (default admin-<UTC time>)')
  .option('--grace-seconds <n>', 'wait between switching the clients and retiring the old key', '10')
  .option('--keep-old', 'stop after the switch, both keys valid (clients on other hosts); retire later with retire-admin-key')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./admin-key-rotation.js')).rotateAdminKeyCommand));
serving
  .command('retire-admin-key')
  .description('remove an admin key from the server\'s admin keys folder')
  .argument('<kid>', 'the key id')
  .option('--keys-dir <dir>', 'the serving runtime\'s --admin-keys-dir (default MODELSHIP_SERVING_ADMIN_KEYS_DIR)')
  .option('--key-file <file>', 'refuse when this clients\' key file still holds the key (default MODELSHIP_SERVING_ADMIN_KEY_FILE)')
  .option('--json', 'print the result as JSON')
  .action(lazy(async () => (await import('./admin-key-rotation.js')).retireAdminKeyCommand));

program
  .command('load')
  .description('send seeded synthetic requests to a served model at a set rate, for a bounded time')
  .argument('<model>', 'model name on the serving runtime')
  .requiredOption('--bundle <dir>', 'a release bundle of the model (its model.yaml gives the input signature)')
  .option('--rate <n>', 'requests per second', '50')
  .option('--duration <seconds>', 'how long (at most 3600)', '30')
  .option('--concurrency <n>', 'requests in flight at most', '16')
  .option('--seed <n>', 'seed for inputs and request keys')
  .option('--url <url>', 'serving runtime (default MODELSHIP_SERVING_URL or http://127.0.0.1:8300)')
  .option('--json', 'print the summary as JSON')
  .action(lazy(async () => (await import('./operate.js')).loadCommand));

program
  .command('codec-server')
  .description('serve the payload codec over HTTP for the Temporal Web UI and the temporal CLI (POST /encode, /decode; bearer token; CORS for the UI)')
  .option('--port <port>', 'port to listen on', '8081')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--keys <file>', 'codec keys file (default MODELSHIP_CODEC_KEYS_FILE or MODELSHIP_CODEC_KEYS)')
  .option('--token-file <file>', 'file holding the bearer token clients must send (default MODELSHIP_CODEC_SERVER_TOKEN_FILE or MODELSHIP_CODEC_SERVER_TOKEN)')
  .option('--ui-origin <url>', 'origin of the Web UI allowed to call it (repeatable)', collect, [])
  .action(lazy(async () => async (flags: { port: string; host: string; keys?: string; tokenFile?: string; uiOrigin: string[] }) => {
    const { codecServerCommand } = await import('./codec-server.js');
    await codecServerCommand({ ...flags, uiOrigin: flags.uiOrigin.length ? flags.uiOrigin : ['http://localhost:8233'] });
  }));

const deployment = program
  .command('deployment')
  .description('Worker Versioning: the workers\' Worker Deployment (MODELSHIP_DEPLOYMENT); ramp a new build and make it current');
deployment
  .command('build-id')
  .description('print the build id a worker started from this code uses (unless MODELSHIP_BUILD_ID overrides it)')
  .option('--tracing', 'for a worker exporting traces (its workflow bundle holds the tracing interceptors)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./deployment.js')).buildIdCommand));
deployment
  .command('describe')
  .description('show the current and ramping build ids and every version with its open pinned workflows')
  .option('--deployment <name>', 'Worker Deployment name (default MODELSHIP_DEPLOYMENT)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./deployment.js')).describeCommand));
deployment
  .command('ramp')
  .description('send a percentage of new releases to a build (its workers must be polling); running releases stay pinned')
  .requiredOption('--build-id <id>', 'the build to ramp')
  .requiredOption('--percent <n>', '0 to 100')
  .option('--deployment <name>', 'Worker Deployment name (default MODELSHIP_DEPLOYMENT)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./deployment.js')).rampCommand));
deployment
  .command('set-current')
  .description('make a build current: every new release starts on it; running releases finish on their own version')
  .requiredOption('--build-id <id>', 'the build to make current')
  .option('--deployment <name>', 'Worker Deployment name (default MODELSHIP_DEPLOYMENT)')
  .option('--json', 'print as JSON')
  .action(lazy(async () => (await import('./deployment.js')).setCurrentCommand));

program
  .command('worker')
  .description('run a modelship worker (same as node dist/src/worker.js)')
  .option('--metrics-port <port>', 'serve Prometheus metrics (modelship_* and Temporal Core temporal_*) at /metrics on this port (default MODELSHIP_WORKER_METRICS_PORT; none: no metrics)')
  .option('--metrics-host <host>', 'address the metrics port binds (default MODELSHIP_WORKER_METRICS_HOST or 127.0.0.1)')
  .action(async (flags: { metricsPort?: string; metricsHost?: string }) => {
    const [{ runWorker }, { resolveMetricsEndpoint }] = await Promise.all([import('../worker.js'), import('../metrics/config.js')]);
    const metrics = resolveMetricsEndpoint(flags);
    await runWorker(metrics ? { metrics } : {});
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const json = wantsJson(process.argv);
  // Help and --version end here too (exit 0); commander has printed its usage error already.
  if (err instanceof CommanderError) {
    if (err.exitCode !== 0 && json) printJsonError('UsageError', err.message.replace(/^error: /, ''), err.exitCode);
    process.exit(err.exitCode);
  }
  const [type, message, exitCode] =
    err instanceof CliError
      ? ['CliError', err.message, err.exitCode]
      : err instanceof ModelshipError
        ? [err.type, err.message, 1]
        : [err instanceof Error ? err.name : 'Error', describeError(err), 1];
  if (json) printJsonError(type, message, exitCode);
  warn(`modelship: ${message}`);
  process.exit(exitCode);
});
