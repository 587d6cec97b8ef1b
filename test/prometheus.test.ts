// ops/prometheus and ops/grafana as users run them: promtool checks the shipped config and rules
// and runs their unit tests; a real Prometheus (Debian's) scrapes a live worker and serving
// runtime with the shipped scrape config and rules; the dashboard's queries name only metrics
// those two processes export, and each one evaluates on that Prometheus.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../src/paths.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { freePorts } from './helpers/dev-server.js';
import { scrape, type Scrape } from './helpers/prometheus.js';
import { startReleaseStack, type ReleaseStack } from './helpers/release-stack.js';
import { FAST_POLICY } from './helpers/canary-fixture.js';
import { metricNamesOf } from './helpers/promql-names.js';

const run = promisify(execFile);
const OPS = join(PROJECT_ROOT, 'ops', 'prometheus');
const DASHBOARD = join(PROJECT_ROOT, 'ops', 'grafana', 'modelship.json');
const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

async function installed(bin: string): Promise<boolean> {
  return run(bin, ['--version']).then(() => true, () => false);
}
const missing = !(await installed(PROMTOOL)) || !(await installed(PROMETHEUS));
const skip = missing ? "Debian's prometheus is not installed (scripts/setup.sh installs it as root)" : false;

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
}

/** The dashboard's queries, with Grafana's variables as a user's selection would set them. */
async function dashboardQueries(): Promise<Array<{ panel: string; expr: string }>> {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Series names a scrape has samples of, and those its `# TYPE` lines declare (a labelled counter has none until its first event). */
function exportedNames(s: Scrape): Set<string> {
  const names = s.names();
  for (const m of s.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const suffix of suffixes) names.add(name + suffix);
  }
  return names;
}

function substitute(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$worker_job', 'modelship-worker').replaceAll('$serving_job', 'modelship-serving').replaceAll('$model', '.*');
}

describe('ops/prometheus: promtool', { skip }, () => {
  it('promtool check config and check rules pass on the shipped files', async () => {
    const config = await run(PROMTOOL, ['check', 'config', join(OPS, 'prometheus.yml')]);
    assert.match(config.stdout, /SUCCESS: 1 rule files found/);
    const rules = await run(PROMTOOL, ['check', 'rules', join(OPS, 'alerts.yml')]);
    assert.match(rules.stdout, /SUCCESS: 7 rules found/);
  });

  it('promtool test rules: every alert has a firing and a not-firing case, and all pass', async () => {
    const alerts = (parse(await readFile(join(OPS, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups.flatMap((g) => g.rules.map((r) => r.alert!));
    const tests = parse(await readFile(join(OPS, 'alerts.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      assert.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} has no firing case`);
      assert.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} has no not-firing case`);
    }
    const result = await run(PROMTOOL, ['test', 'rules', join(OPS, 'alerts.test.yml')]);
    assert.match(result.stdout, /SUCCESS/);
  });

  it('promtool test rules fails when a rule no longer matches its test (the tests can fail)', async () => {
    const rules = await readFile(join(OPS, 'alerts.yml'), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'modelship-prom-mutant-'));
    await writeFile(join(dir, 'alerts.yml'), rules.replace('> 0.05', '> 0.5'));
    await writeFile(join(dir, 'alerts.test.yml'), await readFile(join(OPS, 'alerts.test.yml'), 'utf8'));
    const result = await run(PROMTOOL, ['test', 'rules', join(dir, 'alerts.test.yml')]).then(
      () => ({ failed: false, output: '' }),
      (err: { stdout?: string; stderr?: string }) => ({ failed: true, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    await rm(dir, { recursive: true, force: true });
    assert.ok(result.failed, 'a 10x looser canary threshold still passed the tests');
    assert.match(result.output, /ModelshipCanaryErrorRate/);
  });
});

describe('ops/prometheus: a real Prometheus scrapes a live worker and serving runtime', { skip }, () => {
  const model = 'prom-sample';
  let stack: ReleaseStack;
  let prometheus: ChildProcess;
  let promLog = '';
  let promUrl = '';

  async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    assert.equal(body.status, 'success', `${expr}: ${body.error}`);
    return body.data!.result;
  }

  async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) assert.fail(`${what} never happened; prometheus log: ${promLog.slice(-1500)}`);
      await sleep(250);
    }
  }

  before(async () => {
    stack = await startReleaseStack({ model });
    const [port] = await freePorts(1);
    promUrl = `http://127.0.0.1:${port}`;
    // The shipped config with this test's targets and a short interval; the shipped rules as they are.
    const shipped = parse(await readFile(join(OPS, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    shipped.global.scrape_interval = '1s';
    shipped.global.evaluation_interval = '1s';
    shipped.rule_files = shipped.rule_files.map((f) => join(OPS, f));
    const targets: Record<string, string> = { 'modelship-worker': new URL(stack.workerMetricsUrl).host, 'modelship-serving': new URL(stack.servingUrl).host };
    for (const job of shipped.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name]!] }];
    const config = join(stack.dir, 'prometheus.yml');
    await writeFile(config, stringify(shipped));
    prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(stack.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheus.stderr!.setEncoding('utf8').on('data', (d: string) => (promLog += d));
    await eventually('prometheus ready', () => fetch(`${promUrl}/-/ready`).then((r) => (r.ok ? true : undefined), () => undefined));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await stack?.stop();
  });

  it('both targets are up under the shipped job names', async () => {
    const up = await eventually('both targets scraped', async () => {
      const r = await query('up');
      return r.length === 2 && r.every((s) => s.value[1] === '1') ? r : undefined;
    });
    assert.deepEqual(up.map((s) => s.metric.job).sort(), ['modelship-serving', 'modelship-worker']);
  });

  it('after a release through the CLI, PromQL returns modelship_releases_total counting it', async () => {
    const before = await query('sum(modelship_releases_total{job="modelship-worker"})');
    assert.equal(before[0]?.value[1], '0', 'the outcomes exist at zero before any release');
    const { run } = await stack.release('1.0.0', { steps: [{ setWeight: 50 }, { bakeSeconds: 1 }], policy: FAST_POLICY }, { load: false });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { canary?: { firstVersion?: boolean } }).canary?.firstVersion, true);
    const counted = await eventually('the release in Prometheus', async () => {
      const r = await query('modelship_releases_total{job="modelship-worker"} > 0');
      return r.length ? r : undefined;
    });
    assert.equal(counted.length, 1);
    assert.equal(counted[0]!.metric.outcome, 'promoted');
    assert.equal(counted[0]!.value[1], '1');
    // The serving runtime's side of the same release: the model now has its series.
    const weight = await eventually('the served model in Prometheus', async () => {
      const r = await query(`modelship_canary_weight{job="modelship-serving",model="${model}"}`);
      return r.length ? r : undefined;
    });
    assert.equal(weight[0]!.value[1], '0');
  });

  it('a refused bundle is counted and the shipped ModelshipServingRefusingBundles alert fires on it', async () => {
    const admin = new ServingAdminClient({ baseUrl: stack.servingUrl, secret: stack.adminSecret });
    await assert.rejects(admin.deploy(model, 'canary', join(stack.dir, 'no-such-bundle')));
    const refused = await eventually('the refusal in Prometheus', async () => {
      const r = await query('modelship_bundles_refused_total > 0');
      return r.length ? r : undefined;
    });
    assert.equal(refused[0]!.metric.model, model);
    assert.equal(refused[0]!.metric.slot, 'canary');
    const alert = await eventually('the alert firing', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return res.data.alerts.find((a) => a.labels.alertname === 'ModelshipServingRefusingBundles' && a.state === 'firing');
    });
    assert.equal(alert.labels.model, model);
    // Every shipped rule evaluates on real series without an error; none but this one fires.
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; state: string; lastError?: string }> }> } };
    const all = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(all.length, 7);
    for (const r of all) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    assert.deepEqual(all.filter((r) => r.state === 'firing').map((r) => r.name), ['ModelshipServingRefusingBundles']);
  });

  it('the Grafana dashboard parses, names only exported metrics, and every query evaluates', async () => {
    const queries = await dashboardQueries();
    assert.ok(queries.length >= 15, `only ${queries.length} queries`);
    const exported = new Set(['up', ...exportedNames(await scrape(stack.workerMetricsUrl)), ...exportedNames(await scrape(`${stack.servingUrl}/metrics`))]);
    const named = new Set<string>();
    for (const q of queries) {
      const names = metricNamesOf(q.expr);
      assert.ok(names.length > 0, `${q.panel}: no metric in ${q.expr}`);
      for (const name of names) {
        named.add(name);
        assert.ok(exported.has(name), `${q.panel}: ${name} is not exported by the worker or the serving runtime`);
      }
      await query(substitute(q.expr));
    }
    for (const family of ['modelship_releases_total', 'modelship_stage_duration_seconds_bucket', 'modelship_canary_weight', 'modelship_requests_total', 'modelship_bundles_refused_total']) {
      assert.ok(named.has(family), `the dashboard shows no ${family}`);
    }
  });
});
