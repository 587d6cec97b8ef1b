// The Web UI in Chromium with encrypted payloads: with the codec server as its codec endpoint
// it shows the release request decoded; without one, only ciphertext. Screenshots land in
// .modelship/screenshots/ (codec-ui-*.png).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import { EncryptionCodec } from '../src/codec/encryption-codec.js';
import { startCodecServer, type CodecServer } from '../src/codec/codec-server.js';
import { createLogger } from '../src/logger.js';
import type { ReleaseRequest } from '../src/release/types.js';
import { freePorts, startDevServer, type DevServer } from './helpers/dev-server.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { SAMPLE_MODEL } from './helpers/fixtures.js';
import { chromiumSkipReason, launchChromium, SCREENSHOTS_DIR } from './helpers/browser.js';

const skip = chromiumSkipReason() ?? (process.env.MODELSHIP_TEST_TEMPORAL_ADDRESS ? 'needs its own dev servers with a Web UI' : undefined);
const codec = new EncryptionCodec({ currentKeyId: 'ui-test', keys: new Map([['ui-test', randomBytes(32)]]) });
const TOKEN = randomBytes(16).toString('hex');

interface Released {
  server: DevServer;
  env: ReleaseEnv;
  handle: WorkflowHandle;
  request: ReleaseRequest;
}

describe('the Web UI with and without the codec server', { skip }, () => {
  let codecServer: CodecServer;
  let withCodec: Released;
  let without: Released;
  let browser: Browser;
  let requestsToCodec = 0;

  async function released(server: DevServer): Promise<Released> {
    const env = await startReleaseEnv({ server, payloadCodec: codec });
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } });
    const handle = await env.start(request);
    await handle.result();
    return { server, env, handle, request };
  }

  before(async () => {
    // The dev server's UI needs the codec endpoint at start, and the codec server the UI's origin:
    // pick the codec server's port first.
    const [codecPort] = await freePorts(1);
    const withServer = await startDevServer({ headless: false, uiCodecEndpoint: `http://127.0.0.1:${codecPort}` });
    codecServer = await startCodecServer({ codec, token: TOKEN, uiOrigins: [new URL(withServer.uiUrl).origin], port: codecPort!, logger: createLogger('codec-ui-test', { level: 'error' }) });
    withCodec = await released(withServer);
    without = await released(await startDevServer({ headless: false }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const r of [withCodec, without]) {
      await r?.env.stop();
      await r?.server.stop();
    }
    await codecServer?.close();
  });

  /** Every frame's text (the Web UI renders user markdown in sandboxed iframes). */
  async function pageText(page: Page): Promise<string> {
    const texts = await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 1_000 }).catch(() => '')));
    return texts.join('\n');
  }

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

  async function openRun(r: Released, context: BrowserContext, tab: string): Promise<Page> {
    const page = await context.newPage();
    page.on('request', (req) => {
      if (req.url().startsWith(codecServer.url)) requestsToCodec++;
    });
    await page.goto(`${r.server.uiUrl}/namespaces/${encodeURIComponent(r.server.namespace)}/workflows/${encodeURIComponent(r.handle.workflowId)}/${encodeURIComponent(r.handle.firstExecutionRunId)}/${tab}`);
    return page;
  }

  it('with the codec endpoint: the release request shows decoded', async () => {
    // An SSO proxy would add this header in production; here the browser sends it itself.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` } });
    try {
      const page = await openRun(withCodec, context, 'history');
      const text = await visible(page, withCodec.request.signingKeyPath, 'codec-ui-decoded');
      await page.screenshot({ path: join(SCREENSHOTS_DIR, 'codec-ui-decoded.png'), fullPage: true });
      assert.ok(requestsToCodec > 0, 'the page called the codec server');
    } finally {
      await context.close();
    }
  });

  it('without a codec endpoint: only ciphertext', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      // The UI shows the stored bytes of the request: the ciphertext the server holds.
      const started = (await without.handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      const ciphertext = Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString('base64');
      assert.ok(ciphertext.length > 100);
      const page = await openRun(without, context, 'history');
      const text = await visible(page, ciphertext.slice(0, 60), 'codec-ui-ciphertext');
      assert.ok(!text.includes(without.request.signingKeyPath), 'the request is not readable');
      assert.ok(!text.includes('sample-mlp.onnx'), 'the source path is not readable');
      await page.screenshot({ path: join(SCREENSHOTS_DIR, 'codec-ui-ciphertext.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
