// The build id changes with the workflow code and nothing else: not with unrelated files,
// not with where the checkout lives or the cwd it runs from.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workflowCodeBuildId, workflowCodeClosure } from '../src/versioning/build-id.js';
import { deploymentFromEnvironment } from '../src/versioning/config.js';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../src/release-worker.js';

describe('workflow code build id', () => {
  let dir: string;
  const tree = (root: string) => ({ entry: join(root, 'dist', 'workflows', 'index.js'), helper: join(root, 'dist', 'release', 'plan.js') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-build-id-'));
    const root = join(dir, 'a');
    await mkdir(join(root, 'dist', 'workflows'), { recursive: true });
    await mkdir(join(root, 'dist', 'release'), { recursive: true });
    await mkdir(join(root, 'dist', 'activities'), { recursive: true });
    await mkdir(join(root, 'node_modules', '@temporalio', 'workflow'), { recursive: true });
    await writeFile(join(root, 'package.json'), '{"name":"fixture"}');
    await writeFile(join(root, 'node_modules', '@temporalio', 'workflow', 'package.json'), '{"name":"@temporalio/workflow","version":"1.24.0"}');
    // Comments quoting imports (documentation) are not imports.
    await writeFile(tree(root).entry, "/** Use: `import { x } from '<…>/errors/index.js'` */\n// import { y } from 'not-installed';\nimport { sleep,\n  patched } from '@temporalio/workflow';\nexport { plan } from '../release/plan.js';\n");
    await writeFile(tree(root).helper, 'export const plan = 1;\n');
    await writeFile(join(root, 'dist', 'activities', 'hash.js'), 'export const hash = 1;\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('covers the import closure and the packages it imports, by relative path', () => {
    const closure = workflowCodeClosure([tree(join(dir, 'a')).entry]);
    assert.deepEqual(closure.files.map((f) => f.path), ['dist/release/plan.js', 'dist/workflows/index.js']);
    assert.deepEqual(closure.packages, ['@temporalio/workflow@1.24.0']);
  });

  it('is the same for a copy elsewhere and from another cwd; changes with workflow code only', async () => {
    const a = tree(join(dir, 'a'));
    const id = workflowCodeBuildId([a.entry]);
    assert.match(id, /^wf-[0-9a-f]{16}$/);
    await cp(join(dir, 'a'), join(dir, 'b', 'deeper'), { recursive: true });
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      assert.equal(workflowCodeBuildId([tree(join(dir, 'b', 'deeper')).entry]), id);
    } finally {
      process.chdir(cwd);
    }
    await writeFile(join(dir, 'a', 'dist', 'activities', 'hash.js'), 'export const hash = 2;\n');
    assert.equal(workflowCodeBuildId([a.entry]), id, 'activity code is not part of it');
    assert.notEqual(workflowCodeBuildId([a.entry], ['tracing']), id, 'settings that add workflow code are');
    await writeFile(a.helper, 'export const plan = 2;\n');
    const changed = workflowCodeBuildId([a.entry]);
    assert.notEqual(changed, id, 'a module the workflows import is');
    await writeFile(join(dir, 'a', 'node_modules', '@temporalio', 'workflow', 'package.json'), '{"name":"@temporalio/workflow","version":"1.25.0"}');
    assert.notEqual(workflowCodeBuildId([a.entry]), changed, 'and so is the SDK version');
  });

  it('the real workflows reach every workflow module and the SDK', () => {
    const closure = workflowCodeClosure([WORKFLOWS_PATH, ...WORKFLOW_INTERCEPTOR_MODULES]);
    const paths = closure.files.map((f) => f.path);
    for (const module of ['release.js', 'batch-rollout.js', 'canary-stage.js']) assert.ok(paths.some((p) => p.endsWith(`/workflows/${module}`)), module);
    assert.ok(paths.some((p) => p.endsWith('/canary/plan.js')), 'modules outside workflows/ that they import');
    assert.ok(!paths.some((p) => p.includes('/activities/')), 'no activity code');
    assert.ok(closure.packages.some((p) => p.startsWith('@temporalio/workflow@')));
  });
});

describe('deployment settings from the environment', () => {
  const entries = [WORKFLOWS_PATH, ...WORKFLOW_INTERCEPTOR_MODULES];
  it('is off without MODELSHIP_DEPLOYMENT', () => {
    assert.equal(deploymentFromEnvironment(entries, [], {}), undefined);
  });
  it('derives the build id from the code, or takes MODELSHIP_BUILD_ID', () => {
    assert.deepEqual(deploymentFromEnvironment(entries, [], { MODELSHIP_DEPLOYMENT: 'modelship' }), {
      version: { deploymentName: 'modelship', buildId: workflowCodeBuildId(entries) },
      buildIdFrom: 'code',
    });
    assert.deepEqual(deploymentFromEnvironment(entries, [], { MODELSHIP_DEPLOYMENT: 'modelship', MODELSHIP_BUILD_ID: 'git-abc123' }), {
      version: { deploymentName: 'modelship', buildId: 'git-abc123' },
      buildIdFrom: 'env',
    });
  });
  it('refuses a build id without a deployment', () => {
    assert.throws(() => deploymentFromEnvironment(entries, [], { MODELSHIP_BUILD_ID: 'x' }), /MODELSHIP_BUILD_ID is set but MODELSHIP_DEPLOYMENT is not/);
  });
});
