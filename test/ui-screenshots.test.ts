// What a person sees, in a real browser: the Temporal Web UI (served by the dev server itself)
// listing releases filtered by a search attribute and showing a run's summary and attributes,
// and the HTML release report with its charts. Screenshots land in .modelship/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import type { ReleaseResult } from '../src/release/types.js';
import { buildReleaseReport } from '../src/report/release-report.js';
import { renderReportHtml } from '../src/report/report-html.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { startCanaryFixture, type CanaryFixture } from './helpers/canary-fixture.js';
import { chromiumSkipReason, launchChromium, SCREENSHOTS_DIR } from './helpers/browser.js';

const skip = chromiumSkipReason();

describe('screenshots: the Web UI and the release report in Chromium', { skip }, () => {
  let server: DevServer;
  let fx: CanaryFixture;
  let browser: Browser;
  let page: Page;
  let v1: WorkflowHandle;
  let v2: WorkflowHandle;

  before(async () => {
    server = await startDevServer({ headless: false });
    fx = await startCanaryFixture({ server });
    v1 = await fx.release({}, undefined, '1.0.0');
    await v1.result();
    v2 = await fx.release({ steps: [{ setWeight: 30 }, { bakeSeconds: 2 }, { setWeight: 60 }, { bakeSeconds: 2 }] }, undefined, '2.0.0');
    assert.equal(((await fx.underLoad(v2.result())) as ReleaseResult).canary?.firstVersion, false);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await fx?.stop();
    await server?.stop();
  });

  const ui = (path: string) => `${server.uiUrl}/namespaces/${encodeURIComponent(server.namespace)}${path}`;

  /** Every frame's text (the Web UI renders user markdown in sandboxed iframes). */
  async function pageText(page: Page): Promise<string> {
    const texts = await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 1_000 }).catch(() => '')));
    return texts.join('\n');
  }

  /** Waits for `text` on the page; on a timeout keeps a screenshot of what was there instead. */
  async function visible(page: Page, text: string, name: string): Promise<string> {
    let body = '';
    for (let i = 0; i < 120; i++) {
      body = await pageText(page);
      if (body.includes(text)) return body;
      await sleep(250);
    }
    await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-FAILED.png`), fullPage: true }).catch(() => undefined);
    return assert.fail(`${JSON.stringify(text)} never showed on ${page.url()}; screenshot ${name}-FAILED.png; page text:\n${body.slice(0, 3000)}`);
  }

  /** Visibility is eventually consistent: wait until the server lists both, then ask the UI. */
  async function listedByServer(query: string, count: number): Promise<void> {
    for (let i = 0; i < 150; i++) {
      let n = 0;
      for await (const _ of fx.env.client.workflow.list({ query })) n++;
      if (n >= count) return;
      await sleep(200);
    }
    assert.fail(`${query} never listed ${count} releases`);
  }

  it('the workflow list filtered by ReleaseStage and ModelName shows the model\'s releases', async (t) => {
    if (!server.uiUrl) return t.skip('the test server is external (MODELSHIP_TEST_TEMPORAL_ADDRESS): its Web UI is unknown');
    const query = `ReleaseStage="promoted" AND ModelName="${fx.model}"`;
    await listedByServer(query, 2);
    await page.goto(ui(`/workflows?query=${encodeURIComponent(query)}`));
    await visible(page, v1.workflowId, 'ui-workflow-list');
    const text = await visible(page, v2.workflowId, 'ui-workflow-list');
    assert.ok(text.includes(fx.model), 'the model name is visible');
    assert.match(text, /\b2\s+COMPLETED\b/);
    assert.ok(text.includes('ReleaseStage'), 'the filter is shown');
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'ui-workflow-list.png'), fullPage: true });
  });

  it('the run page shows the static summary and the stage in the search attributes', async (t) => {
    if (!server.uiUrl) return t.skip('the test server is external (MODELSHIP_TEST_TEMPORAL_ADDRESS): its Web UI is unknown');
    const run = ui(`/workflows/${encodeURIComponent(v2.workflowId)}/${encodeURIComponent(v2.firstExecutionRunId)}`);
    await page.goto(`${run}/user-metadata`);
    const summary = `${fx.model}@2.0.0 · ONNX sample-mlp.onnx`;
    await visible(page, summary, 'ui-run-summary');
    // The details render in their own frame, possibly after the summary: wait for them too.
    await visible(page, `Release ${fx.model}@2.0.0`, 'ui-run-summary');
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'ui-run-summary.png'), fullPage: true });

    await page.goto(`${run}/search-attributes`);
    const text = await visible(page, '"ReleaseStage": "promoted"', 'ui-run-search-attributes');
    assert.ok(text.includes(`"ModelName": "${fx.model}"`));
    assert.ok(text.includes('"Verdict": "promoted"'));
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'ui-run-search-attributes.png'), fullPage: true });
  });

  it('the HTML report shows the stage table and the canary charts', async () => {
    const file = join(SCREENSHOTS_DIR, 'release-report.html');
    await writeFile(file, renderReportHtml(buildReleaseReport(await v2.fetchHistory(), v2.workflowId)));
    // Nothing may be fetched: the page is self-contained.
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    page.removeAllListeners('request');
    assert.deepEqual(requests, [pathToFileURL(file).href]);

    assert.equal(await page.locator('#stages tbody tr').count(), 6);
    for (const stage of ['export', 'hash', 'sign', 'attest', 'smoke', 'canary']) {
      assert.match(await page.locator(`#stages tr[data-stage="${stage}"]`).innerText(), new RegExp(`^${stage}\\s+succeeded`));
    }
    const charts = page.locator('svg.chart');
    assert.equal(await charts.count(), 3);
    for (let i = 0; i < 3; i++) {
      const box = await charts.nth(i).boundingBox();
      assert.ok(box && box.width > 300 && box.height > 150, `chart ${i} is drawn (${JSON.stringify(box)})`);
      assert.ok((await charts.nth(i).locator('circle').count()) >= 2, `chart ${i} plots both analyses`);
    }
    assert.match((await page.locator('#chart-latency').textContent()) ?? '', /canary p99/);
    assert.equal(await page.locator('#analyses tbody tr').count(), 2);
    assert.match(await page.locator('#outcome').innerText(), /promoted/);
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'release-report.png'), fullPage: true });
  });
});
