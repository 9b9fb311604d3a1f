import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { RetentionPurger } from '../../src/deliveries/retention';
import { WebhookSigner } from '../../providers/webhook/signing';
import { JiraFake } from '../fakes/jira';
import { Receiver } from '../fakes/receiver';
import { TelegramFake } from '../fakes/telegram';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { launchChromium } from '../support/browser';
import { PROJECT_ROOT } from '../support/stack';
import { LocalRegistry, npmPack, type PackedPlugin } from '../support/plugin-packages';
import os from 'node:os';

// UI_SCREENSHOTS=docs/screenshots keeps a screenshot of each new view (the README shows them)
const SHOTS = process.env.UI_SCREENSHOTS ? path.resolve(PROJECT_ROOT, process.env.UI_SCREENSHOTS) : undefined;

const BEARER = 'bearer-secret-Zq81xK3vP0aa77';
const SLACK_SECRET_PATH = '/services/T0HUB/B0HUB/slackSecretPart0123456789';
const TELEGRAM_TOKEN = `6123456789:AAF${'s'.repeat(12)}_uI-${'q'.repeat(16)}`;
const TELEGRAM_CHAT = -1001000000042;

/** Issue 23, gaps 9-14 of the admin UI, in a real Chromium against the real stack (Temporal, PostgreSQL, fakes). */
describe('admin UI: attempts, stats, pickers, signing, bulk retry, plugins (issue 23 gaps 9-14)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let telegram: TelegramFake;
  let registry: LocalRegistry;
  let echo: PackedPlugin;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const consoleErrors: { text: string; url: string }[] = [];

  const ui = (p: string) => `${hub.baseUrl}/ui${p}`;
  const shot = async (p: Page, name: string) => {
    if (!SHOTS) return;
    fs.mkdirSync(SHOTS, { recursive: true });
    await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };
  const signIn = async (p: Page, token: string) => {
    await p.goto(ui('/'));
    await p.locator('#token').fill(token);
    await p.keyboard.press('Enter');
    // attached, not visible: at 390 px the navigation hides behind its menu button
    await p.getByRole('navigation', { name: 'Main', includeHidden: true }).waitFor({ state: 'attached' });
    await p.getByRole('heading', { name: 'Overview' }).waitFor();
  };
  const ingest = async (event: string, id: string, payload: Record<string, unknown> = {}) => {
    const res = await hub.call('POST', '/ingest', { event, id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'], ...payload } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.deliveries as { id: string; subscriptionId: string }[];
  };
  const settled = (id: string, status = 'success') =>
    waitFor(async () => (await hub.call('GET', `/deliveries/${id}`)).body.status === status, `delivery ${id} to be ${status}`, 30_000);
  const subscribe = async (body: Record<string, unknown>) => {
    const res = await hub.call('POST', '/subscriptions', { event: 'incident.created', retryPolicy: { scheduleMs: [200] }, ...body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; name: string };
  };
  /** The Telegram connection to the fake Bot API (made once). */
  const telegramConnection = async (): Promise<{ id: string }> => {
    const found = (await hub.call('GET', '/connections')).body.items.find((c: { name: string }) => c.name === 'Ops bot');
    if (found) return found;
    const res = await hub.call('POST', '/connections', { provider: 'telegram', name: 'Ops bot', config: { botToken: TELEGRAM_TOKEN, apiBaseUrl: telegram.url } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  /** Every exchange the log holds, as stored (the text searched for secrets). */
  const storedExchanges = async () =>
    ((await hub.dataSource.query(`SELECT exchanges::text AS x FROM delivery_attempts WHERE exchanges IS NOT NULL`)) as { x: string }[]).map((r) => r.x).join('\n');

  before(async () => {
    receiver = await new Receiver().start();
    telegram = await new TelegramFake(TELEGRAM_TOKEN).start();
    telegram.addChat({ id: TELEGRAM_CHAT, type: 'supergroup', title: 'Ops room' });
    echo = npmPack('./test/fixtures/plugins/provider-echo');
    registry = await new LocalRegistry().start();
    registry.add(echo);
    hub = await Hub.start('browser_ui_gaps', {
      PLUGIN_INSTALL_ENABLED: 'true',
      PLUGIN_REGISTRY_URL: registry.url,
      PLUGIN_ALLOWED_SCOPES: '@ihub-test',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-ui-gaps-')),
    });
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await admin.newPage();
    page.on('console', (m: ConsoleMessage) => m.type() === 'error' && consoleErrors.push({ text: m.text(), url: m.location().url }));
    page.on('pageerror', (e) => consoleErrors.push({ text: `page error: ${e.message}`, url: page.url() }));
    await signIn(page, ADMIN_TOKEN);
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await receiver?.stop();
    await telegram?.stop();
    await registry?.stop();
  });
  // subscriptions of one test must not take the next test's events
  afterEach(() => hub.dataSource.query(`UPDATE subscriptions SET enabled = false`));

  describe('gap 9: the request and response of every attempt', () => {
    it('keeps and shows the request sent and the response got, for a success, with the bearer token and an echoed secret masked', async () => {
      receiver.script.push({ status: 200, headers: { 'content-type': 'application/json', 'set-cookie': 'sid=cookie-secret-value', 'x-trace': 'trace-77' }, body: `{"ok":true,"echo":"${BEARER}"}` });
      const sub = await subscribe({
        name: 'bearer hook', provider: 'webhook',
        config: { url: `${receiver.url}/hook9`, auth: { type: 'bearer', token: BEARER }, headers: { 'X-Team': 'ops' } },
      });
      const [d] = (await ingest('incident.created', 'evt-g9-ok')).filter((x) => x.subscriptionId === sub.id);
      await settled(d.id);
      assert.equal(receiver.at('/hook9')[0].headers.authorization, `Bearer ${BEARER}`, 'the receiver got the real token');

      await page.goto(ui(`/deliveries/${d.id}`));
      const attempt = page.getByTestId('attempt').first();
      await attempt.getByRole('button', { name: 'Show request and response' }).click();
      const shown = page.getByTestId('exchanges-1');
      await shown.waitFor();
      assert.equal(await shown.getByTestId('request-line').textContent(), `POST ${receiver.url}/hook9`);
      const headers = (await shown.getByTestId('headers').first().textContent()) ?? '';
      assert.match(headers, /authorization: Bearer \*\*\*/i);
      assert.match(headers, /x-team: ops/i);
      assert.match(headers, /webhook-signature|content-type/i);
      assert.match((await shown.getByTestId('request-body').textContent()) ?? '', /"incidentId": "evt-g9-ok"/);
      assert.equal(await shown.getByTestId('response-status').textContent(), 'HTTP 200');
      const responseHeaders = (await shown.getByTestId('headers').nth(1).textContent()) ?? '';
      assert.match(responseHeaders, /x-trace: trace-77/);
      assert.match(responseHeaders, /set-cookie: \*\*\*/);
      assert.match((await shown.getByTestId('response-body').textContent()) ?? '', /"echo": "\*\*\*"/);
      const html = await page.content();
      for (const secret of [BEARER, 'cookie-secret-value']) assert.ok(!html.includes(secret), `${secret} is not on the page`);
      const stored = await storedExchanges();
      assert.ok(stored.includes('/hook9'), 'the exchange is stored');
      for (const secret of [BEARER, 'cookie-secret-value']) assert.ok(!stored.includes(secret), `${secret} is not stored`);
      await shot(page, 'delivery-request-response');
    });

    it('stores no Slack webhook path and no Telegram bot token (in the URL) of the requests it keeps', async () => {
      const slack = await subscribe({ name: 'slack hook', provider: 'slack', config: { webhookUrl: `${receiver.url}${SLACK_SECRET_PATH}` } });
      const conn = await telegramConnection();
      const tg = await subscribe({ name: 'telegram ops', provider: 'telegram', connectionId: conn.id, config: { chatId: TELEGRAM_CHAT } });
      const ds = await ingest('incident.created', 'evt-g9-urls');
      const slackDelivery = ds.find((x) => x.subscriptionId === slack.id)!;
      const tgDelivery = ds.find((x) => x.subscriptionId === tg.id)!;
      await settled(slackDelivery.id);
      await settled(tgDelivery.id);
      assert.equal(receiver.at(SLACK_SECRET_PATH).length, 1, 'Slack got it at the secret URL');
      assert.equal(telegram.calls.filter((c) => c.token === TELEGRAM_TOKEN).length >= 1, true, 'Telegram got the real token');

      const stored = await storedExchanges();
      for (const secret of ['slackSecretPart0123456789', TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(':')[1]]) {
        assert.ok(!stored.includes(secret), `${secret} is not stored`);
      }
      const slackDetail = (await hub.call('GET', `/deliveries/${slackDelivery.id}/attempts/1`)).body;
      assert.equal(slackDetail.exchanges[0].request.url, `${receiver.url}/***`, 'a secret URL keeps its origin only');
      const tgDetail = (await hub.call('GET', `/deliveries/${tgDelivery.id}/attempts/1`)).body;
      assert.equal(tgDetail.exchanges.at(-1).request.url, `${telegram.url}/bot***/sendMessage`);
      assert.equal(tgDetail.exchanges.at(-1).response.status, 200);

      await page.goto(ui(`/deliveries/${tgDelivery.id}`));
      await page.getByRole('button', { name: /Show request and response/ }).click();
      await page.getByTestId('exchanges-1').getByTestId('request-line').last().filter({ hasText: '/bot***/sendMessage' }).waitFor();
      assert.ok(!(await page.content()).includes(TELEGRAM_TOKEN.split(':')[1]));
    });

    it('cuts a 3 MB answer full of NUL bytes to ATTEMPT_BODY_MAX_BYTES and says so; a retryable attempt is kept too', async () => {
      const huge = `{"junk":"${'\u0000x'.repeat(1_500_000)}"}`;
      receiver.script.push({ status: 503, headers: { 'content-type': 'application/json' }, body: huge });
      const sub = await subscribe({ name: 'huge answer', provider: 'webhook', config: { url: `${receiver.url}/huge` } });
      const [d] = (await ingest('incident.created', 'evt-g9-huge')).filter((x) => x.subscriptionId === sub.id);
      await settled(d.id);
      const first = (await hub.call('GET', `/deliveries/${d.id}/attempts/1`)).body;
      const res = first.exchanges[0].response;
      assert.equal(res.status, 503);
      assert.equal(res.bodyTruncated, true);
      assert.equal(res.bodyBytes, hub.config.outbound.maxResponseBytes, 'read up to the client cap');
      assert.ok(Buffer.byteLength(res.body) <= 64 * 1024 && Buffer.byteLength(res.body) > 60 * 1024, `kept ${Buffer.byteLength(res.body)} bytes`);
      assert.ok(res.body.startsWith('{"junk":"\\u0000x'), 'NUL shown escaped');
      await page.goto(ui(`/deliveries/${d.id}`));
      await page.getByTestId('attempt').first().getByRole('button', { name: 'Show request and response' }).click();
      await page.getByTestId('exchanges-1').getByText(/Cut to the first .* of 1,048,576 bytes/).waitFor();
      assert.equal(await page.getByTestId('exchanges-1').getByTestId('response-status').textContent(), 'HTTP 503');
    });

    it('drops the requests and responses with the payload when retention purges it', async () => {
      const sub = await subscribe({ name: 'to purge', provider: 'webhook', config: { url: `${receiver.url}/purge` } });
      const [d] = (await ingest('incident.created', 'evt-g9-purge')).filter((x) => x.subscriptionId === sub.id);
      await settled(d.id);
      assert.equal((await hub.call('GET', `/deliveries/${d.id}`)).body.attemptLog[0].exchanges, 1);
      const purger = new RetentionPurger(hub.dataSource, { batchSize: 1000, batchPauseMs: 0 });
      assert.ok((await purger.batch('deliveryPayloads', Date.now() + 60_000)).n >= 1);
      assert.equal((await hub.dataSource.query(`SELECT 1 FROM deliveries WHERE id = $1 AND payload_purged_at IS NOT NULL`, [d.id])).length, 1, 'the payload purged');
      const rows = await hub.dataSource.query(`SELECT exchanges FROM delivery_attempts WHERE delivery_id = $1`, [d.id]);
      assert.deepEqual(rows.map((r: { exchanges: unknown }) => r.exchanges), [null]);
      const detail = (await hub.call('GET', `/deliveries/${d.id}`)).body;
      assert.equal(detail.attemptLog[0].exchanges, 0);
      assert.ok((await hub.call('GET', `/deliveries/${d.id}/attempts/1`)).body.purgedAt);
      await page.goto(ui(`/deliveries/${d.id}`));
      await page.getByTestId('attempt').first().getByText('Request and response dropped by retention with the payload.').waitFor();
    });
  });

  describe('gap 10: destinations, success rates and charts over time', () => {
    let sub: { id: string; name: string };
    const ids: string[] = [];
    before(async () => {
      sub = await subscribe({ name: 'stats hook', provider: 'webhook', config: { url: `${receiver.url}/stats` } });
      // three successes, one permanent failure; two of them moved three hours back
      for (const [i, reply] of [{ status: 200 }, { status: 200 }, { status: 400, body: 'no' }, { status: 200 }].entries()) {
        receiver.script.push(reply);
        const [d] = (await ingest('incident.created', `evt-g10-${i}`)).filter((x) => x.subscriptionId === sub.id);
        await settled(d.id, reply.status === 200 ? 'success' : 'failed');
        ids.push(d.id);
      }
      await hub.dataSource.query(`UPDATE deliveries SET created_at = created_at - interval '3 hours' WHERE id = ANY($1)`, [ids.slice(0, 2)]);
    });

    it('aggregates deliveries by status per hour in SQL (GET /stats/deliveries), every bucket of the range present', async () => {
      const res = await hub.call('GET', `/stats/deliveries?bucket=hour&hours=24&subscriptionId=${sub.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.series.length, 24);
      const threeBack = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000;
      const old = res.body.series.find((b: { at: string }) => Date.parse(b.at) === threeBack);
      assert.deepEqual([old.total, old.success], [2, 2]);
      assert.equal(res.body.series.at(-1).total, 2, 'the current hour holds the other two');
      assert.equal(res.body.series.at(-1).failed, 1);
      assert.equal(res.body.series.reduce((a: number, b: { total: number }) => a + b.total, 0), 4);
      const bad = await hub.call('GET', '/stats/deliveries?bucket=minute');
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify(bad.body.errors), /bucket/);
    });

    it('lists each subscription with its destination and success rate', async () => {
      await page.goto(ui('/subscriptions'));
      const row = page.locator(`[data-testid="subscription-row"][data-id="${sub.id}"]`);
      await row.waitFor();
      assert.equal(await row.getByTestId('destination').textContent(), receiver.url);
      await row.getByTestId('success-rate').filter({ hasText: '75 % of 4' }).waitFor();
      const slack = page.getByTestId('subscription-row').filter({ hasText: 'slack hook' });
      assert.equal(await slack.getByTestId('destination').textContent(), 'slack webhook (secret URL)');
      const tg = page.getByTestId('subscription-row').filter({ hasText: 'telegram ops' });
      assert.equal(await tg.getByTestId('destination').textContent(), `chat ${TELEGRAM_CHAT}`);
      await shot(page, 'subscriptions-destination-rate');
    });

    it("draws the subscription's volume and failures over time as SVG bars matching the log", async () => {
      await page.goto(ui(`/subscriptions/${sub.id}`));
      const chart = page.getByRole('region', { name: 'Volume and failures over time' });
      await chart.getByTestId('chart-summary').filter({ hasText: '4 deliveries, 1 failed or retrying.' }).waitFor();
      const bars = await chart.getByTestId('chart-bar').evaluateAll((els) => els.map((e) => [e.parentElement!.getAttribute('data-at'), e.getAttribute('data-status'), Number(e.getAttribute('data-count'))]));
      const threeBack = new Date(Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000).toISOString();
      const now = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
      assert.deepEqual(bars.sort(), [[now, 'failed', 1], [now, 'success', 1], [threeBack, 'success', 2]].sort());
      await chart.scrollIntoViewIfNeeded();
      await shot(page, 'subscription-activity-chart');
    });

    it('shows deliveries by status over time on the overview, equal to the totals in the database', async () => {
      await page.goto(ui('/'));
      const chart = page.getByRole('region', { name: 'Deliveries by status over time' });
      await chart.getByTestId('chart').waitFor();
      const rows: { status: string; n: number }[] = await hub.dataSource.query(
        `SELECT status, count(*)::int AS n FROM deliveries WHERE created_at >= date_trunc('hour', now()) - interval '23 hours' GROUP BY status`,
      );
      const shown = await chart.getByTestId('chart-bar').evaluateAll((els) => els.map((e) => [e.getAttribute('data-status'), Number(e.getAttribute('data-count'))] as const));
      const sum: Record<string, number> = {};
      for (const [st, n] of shown) sum[st!] = (sum[st!] ?? 0) + n;
      assert.deepEqual(sum, Object.fromEntries(rows.map((r) => [r.status, r.n])));
      // the range switch: daily buckets over 7 days
      await chart.getByLabel('Range').selectOption('7d');
      await waitFor(async () => (await chart.getByTestId('chart-bucket').count()) === 7, 'seven daily buckets');
      await shot(page, 'overview-chart');
    });
  });

  describe('gap 11: connection-backed fields are pickers fed by /options, typing still possible', () => {
    let jira: JiraFake;
    before(async () => {
      jira = await new JiraFake().start();
    });
    after(() => jira?.stop());

    it('picks the Jira project, then its issue type (asked for that project) and a priority; a typed value still goes', async () => {
      const conn = await hub.call('POST', '/connections', { provider: 'jira', name: 'Ops Jira', config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken } });
      assert.equal(conn.status, 201, JSON.stringify(conn.body));
      await page.goto(ui('/subscriptions/new'));
      await page.getByLabel('Name *').fill('jira picked');
      await page.getByLabel('Event *').selectOption('incident.created');
      await page.getByLabel('Provider *').selectOption('jira');
      // before a connection is chosen, the field says how to get choices
      await page.getByTestId('picker-hint-config.projectKey').filter({ hasText: 'Choose a connection above' }).waitFor();
      await page.locator('#f-connectionId').selectOption(conn.body.id);
      const project = page.getByLabel('Pick Project key');
      await project.locator('option', { hasText: /Operations/ }).waitFor({ state: 'attached' });
      await page.getByTestId('picker-hint-config.issueTypeId').filter({ hasText: 'Pick Project key first' }).waitFor();
      await project.selectOption('OPS');
      assert.equal(await page.locator('#f-config-projectKey').inputValue(), 'OPS');
      const issueType = page.getByLabel('Pick Issue type ID');
      await issueType.locator('option', { hasText: 'Bug' }).waitFor({ state: 'attached' });
      assert.ok(jira.requests.some((r) => /OPS/.test(r.url)), `the issue types were asked for the chosen project: ${jira.requests.map((r) => r.url).join(" ")}`);
      await issueType.selectOption('10002');
      assert.equal(await page.locator('#f-config-issueTypeId').inputValue(), '10002');
      const priority = page.getByLabel('Pick Priority ID');
      await priority.locator('option', { hasText: 'High' }).first().waitFor({ state: 'attached' });
      await priority.selectOption('2');
      assert.equal(await page.locator('#f-config-priorityId').inputValue(), '2');
      // typing still works: a priority id the list does not offer
      await page.locator('#f-config-priorityId').fill('3');
      await shot(page, 'subscription-jira-pickers');
      await page.getByRole('button', { name: 'Create subscription' }).click();
      const row = page.getByTestId('subscription-row').filter({ hasText: 'jira picked' });
      await row.waitFor();
      const stored = await hub.call('GET', `/subscriptions/${await row.getAttribute('data-id')}`);
      assert.deepEqual([stored.body.config.projectKey, stored.body.config.issueTypeId, stored.body.config.priorityId], ['OPS', '10002', '3']);
    });

    it("picks a Telegram chat from the bot's recent chats", async () => {
      telegram.updates = [{ update_id: 7, message: { message_id: 1, date: 1, chat: { id: TELEGRAM_CHAT, type: 'supergroup', title: 'Ops room' }, text: 'hi' } }];
      const conn = await telegramConnection();
      await page.goto(ui('/subscriptions/new'));
      await page.getByLabel('Provider *').selectOption('telegram');
      await page.locator('#f-connectionId').selectOption(conn.id);
      const chat = page.getByLabel('Pick Chat ID');
      await chat.locator('option', { hasText: 'Ops room' }).waitFor({ state: 'attached' });
      await chat.selectOption(String(TELEGRAM_CHAT));
      assert.equal(await page.locator('#f-config-chatId').inputValue(), String(TELEGRAM_CHAT));
      // what the bot cannot list can still be typed
      await page.locator('#f-config-chatId').fill('@opsnews');
      assert.equal(await page.locator('#f-config-chatId').inputValue(), '@opsnews');
    });
  });

  describe('gap 12: signing secrets generated, copied once and rotated from the form', () => {
    it('generates a secret shown once with Copy; the receiver verifies with it; rotation signs with old and new until the overlap ends', async () => {
      await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.baseUrl });
      await page.goto(ui('/subscriptions/new'));
      await page.getByLabel('Name *').fill('signed hook');
      await page.getByLabel('Event *').selectOption('incident.created');
      await page.locator('#f-config-url').fill(`${receiver.url}/signed`);
      const signing = page.getByTestId('signing');
      await signing.getByTestId('signing-state').filter({ hasText: 'not signed' }).waitFor();
      await signing.getByRole('button', { name: 'Generate a signing secret' }).click();
      const first = (await signing.getByTestId('new-signing-secret').textContent())!;
      assert.match(first, /^whsec_[A-Za-z0-9+/]{32}$/);
      await signing.getByRole('button', { name: 'Copy' }).click();
      await signing.getByTestId('copied').waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), first);
      await shot(page, 'subscription-signing-generated');
      await page.getByRole('button', { name: 'Create subscription' }).click();
      const row = page.getByTestId('subscription-row').filter({ hasText: 'signed hook' });
      await row.waitFor();
      const id = (await row.getAttribute('data-id'))!;

      const [d1] = (await ingest('incident.created', 'evt-g12-1')).filter((x) => x.subscriptionId === id);
      await settled(d1.id);
      const got1 = receiver.at('/signed').at(-1)!;
      new WebhookSigner(first).verify(got1.body, got1.headers as Record<string, string>);

      // the edit page never shows it again; Rotate adds a new one, shown once, with a 24 h overlap
      await page.goto(ui(`/subscriptions/${id}`));
      await signing.getByTestId('signing-state').filter({ hasText: 'One signing secret stored' }).waitFor();
      assert.ok(!(await page.content()).includes(first), 'the stored secret is never on the page');
      await signing.getByLabel('Rotation overlap').selectOption('24');
      await signing.getByRole('button', { name: 'Rotate' }).click();
      const second = (await signing.getByTestId('new-signing-secret').textContent())!;
      assert.notEqual(second, first);
      await shot(page, 'subscription-signing-rotated');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
      const stored = (await hub.call('GET', `/subscriptions/${id}`)).body.config.signing;
      assert.deepEqual(stored.secrets, [{ set: true }, { set: true }]);
      assert.ok(Date.parse(stored.overlapUntil) > Date.now() + 23 * 3_600_000);

      const [d2] = (await ingest('incident.created', 'evt-g12-2')).filter((x) => x.subscriptionId === id);
      await settled(d2.id);
      const got2 = receiver.at('/signed').at(-1)!;
      assert.equal(String(got2.headers['webhook-signature']).split(' ').length, 2, 'old and new both sign during the overlap');
      new WebhookSigner(first).verify(got2.body, got2.headers as Record<string, string>);
      new WebhookSigner(second).verify(got2.body, got2.headers as Record<string, string>);

      // the overlap ends (moved into the past here): only the new one signs
      await hub.dataSource.query(`UPDATE subscriptions SET config = jsonb_set(config, '{signing,overlapUntil}', to_jsonb($2::text)) WHERE id = $1`, [id, new Date(Date.now() - 1000).toISOString()]);
      const [d3] = (await ingest('incident.created', 'evt-g12-3')).filter((x) => x.subscriptionId === id);
      await settled(d3.id);
      const got3 = receiver.at('/signed').at(-1)!;
      new WebhookSigner(second).verify(got3.body, got3.headers as Record<string, string>);
      assert.throws(() => new WebhookSigner(first).verify(got3.body, got3.headers as Record<string, string>), /signature/i);
      // neither secret is kept with the attempts
      const kept = await storedExchanges();
      for (const secret of [first, second]) assert.ok(!kept.includes(secret.slice(6)), 'no signing secret in the kept requests');
    });
  });

  describe('gap 13: bulk retry, empty connection picker, systems picker, several events at once', () => {
    it('retries the rows selected in the log, and only those', async () => {
      let failing = true;
      const before = receiver.fallback;
      receiver.fallback = (r) => (r.url.startsWith('/bulk') && failing ? { status: 400, body: 'not yet' } : before(r));
      try {
        const sub = await subscribe({ name: 'bulk hook', provider: 'webhook', config: { url: `${receiver.url}/bulk` } });
        const ids: string[] = [];
        for (const n of [1, 2, 3]) {
          const [d] = (await ingest('incident.created', `evt-g13-${n}`)).filter((x) => x.subscriptionId === sub.id);
          await settled(d.id, 'failed');
          ids.push(d.id);
        }
        failing = false;
        await page.goto(ui(`/deliveries?subscriptionId=${sub.id}`));
        for (const id of ids) await page.locator(`[data-testid="delivery-row"][data-id="${id}"]`).waitFor();
        await page.getByLabel(`Select delivery ${ids[0]}`).check();
        await page.getByLabel(`Select delivery ${ids[2]}`).check();
        await shot(page, 'delivery-log-bulk-retry');
        await page.getByRole('button', { name: 'Retry selected (2)' }).click();
        await page.getByTestId('bulk-result').filter({ hasText: '2 deliveries sent again.' }).waitFor({ timeout: 30_000 });
        await settled(ids[0]);
        await settled(ids[2]);
        assert.equal((await hub.call('GET', `/deliveries/${ids[1]}`)).body.status, 'failed', 'the unselected one is left alone');
        await page.locator(`[data-testid="delivery-row"][data-id="${ids[0]}"][data-status="success"]`).waitFor({ timeout: 30_000 });
        assert.equal(await page.getByRole('button', { name: 'Retry selected (0)' }).isDisabled(), true);
      } finally {
        receiver.fallback = before;
      }
    });

    it('says how to make a connection when there is none for the provider', async () => {
      await page.goto(ui('/subscriptions/new'));
      await page.getByLabel('Provider *').selectOption('webex');
      const hint = page.getByTestId('no-connection');
      await hint.filter({ hasText: 'No Webex connection yet' }).waitFor();
      await hint.getByRole('link', { name: 'create one on the Connections page' }).click();
      await page.getByRole('heading', { name: 'Connections', exact: true }).waitFor();
    });

    it('offers the systems seen in events as a picker, and creates one subscription per chosen event from one form', async () => {
      await ingest('incident.created', 'evt-g13-sys', { systemIds: ['sys-billing'] });
      await page.goto(ui('/subscriptions/new'));
      const systems = page.getByRole('group', { name: 'Systems seen in events' });
      await systems.getByLabel('sys-billing').waitFor();
      assert.ok(await systems.getByLabel('sys-a').count(), 'sys-a, named by earlier events, is offered');
      await systems.getByLabel('sys-billing').check();
      assert.equal(await page.locator('#f-systemIds').inputValue(), 'sys-billing');
      await page.getByLabel('Name *').fill('multi');
      await page.getByLabel('Event *').selectOption('incident.created');
      await page.locator('#f-config-url').fill(`${receiver.url}/multi`);
      await page.getByText('Also for other events (one subscription each)').click();
      const more = page.getByRole('group', { name: 'More events' });
      await more.getByLabel('incident.updated').check();
      await more.getByLabel('incident.resolved').check();
      await page.getByText('Creates 3 subscriptions').waitFor();
      await shot(page, 'subscription-several-events');
      await page.getByRole('button', { name: 'Create subscription' }).click();
      await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
      await page.getByText('Created 3 subscriptions.').waitFor();
      const made = ((await hub.call('GET', '/subscriptions')).body.items as { name: string; event: string; systemIds: string[]; config: { url: string } }[])
        .filter((x) => x.name.startsWith('multi ('))
        .map((x) => [x.name, x.event, x.systemIds.join(), x.config.url])
        .sort();
      assert.deepEqual(made, [
        ['multi (incident.created)', 'incident.created', 'sys-billing', `${receiver.url}/multi`],
        ['multi (incident.resolved)', 'incident.resolved', 'sys-billing', `${receiver.url}/multi`],
        ['multi (incident.updated)', 'incident.updated', 'sys-billing', `${receiver.url}/multi`],
      ]);
      const seen = await hub.call('GET', '/systems');
      assert.equal(seen.body.items[0].id, 'sys-billing', 'most recently seen first');
    });
  });

  describe('gap 14: the Plugin Manager page', () => {
    it('installs from the registry, uninstalls after a preview of what it pauses, installs again by upload (which resumes)', async () => {
      await page.goto(ui('/plugins'));
      const manager = page.getByRole('region', { name: 'Plugin Manager' });
      await manager.getByText('No plugin has been installed at run time.').waitFor();
      await manager.getByLabel('Package').fill(echo.name);
      await manager.getByLabel('Version').fill('9.9.9');
      await manager.getByRole('button', { name: 'Install' }).click();
      await manager.getByTestId('install-error').waitFor();
      await manager.getByLabel('Version').fill(echo.version);
      await manager.getByRole('button', { name: 'Install' }).click();
      const row = manager.locator('[data-testid="plugin-row"][data-status="installed"]');
      await row.waitFor({ timeout: 60_000 });
      assert.match((await row.textContent()) ?? '', /echo-hook/);
      await page.locator('[data-testid="provider-row"][data-id="echo-hook"]').waitFor();
      await shot(page, 'plugin-manager');

      const sub = await subscribe({ name: 'echo sub', provider: 'echo-hook', config: { url: `${receiver.url}/echo` } });
      await row.getByRole('button', { name: 'Uninstall…' }).click();
      const dialog = page.getByRole('dialog', { name: `Uninstall ${echo.name}?` });
      await dialog.getByTestId('uninstall-preview').getByText('echo sub').waitFor();
      assert.match((await dialog.textContent()) ?? '', /This subscription is paused/);
      await shot(page, 'plugin-uninstall-preview');
      await dialog.getByRole('button', { name: 'Uninstall' }).click();
      await manager.locator('[data-testid="plugin-row"][data-status="uninstalled"]').waitFor();
      assert.ok((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, 'its subscription is paused');

      await manager.getByLabel('Upload a tarball').check();
      await manager.getByLabel(/Package tarball/).setInputFiles(echo.file);
      await manager.getByRole('button', { name: 'Install' }).click();
      await manager.locator('[data-testid="plugin-row"][data-status="installed"]').waitFor({ timeout: 60_000 });
      assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null, 'installing it again resumes it');
    });

    it('warns, naming its subscriptions, before a provider is disabled; Cancel keeps it on', async () => {
      await subscribe({ name: 'warned hook', provider: 'webhook', config: { url: `${receiver.url}/warned` } });
      await page.goto(ui('/plugins'));
      const row = page.locator('[data-testid="provider-row"][data-id="webhook"]');
      await row.getByRole('switch').click();
      const dialog = page.getByRole('dialog', { name: /^Disable / });
      const warning = dialog.getByTestId('disable-warning');
      await warning.waitFor();
      const webhookSubs = ((await hub.call('GET', '/subscriptions?provider=webhook')).body.items as unknown[]).length;
      assert.ok(((await warning.textContent()) ?? '').startsWith(webhookSubs === 1 ? 'One subscription uses this provider' : `${webhookSubs} subscriptions use this provider`));
      await dialog.getByText('warned hook').waitFor();
      await shot(page, 'provider-disable-warning');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(((await hub.call('GET', '/providers')).body.items as { id: string; enabled: boolean }[]).find((p) => p.id === 'webhook')!.enabled, true);
    });
  });

  describe('every page at 390 px', () => {
    it('no page (the new views included, with their charts, pickers and request/response open) is wider than the viewport', async () => {
      const narrow = await browser.newContext({ viewport: { width: 390, height: 844 } });
      const p = await narrow.newPage();
      p.on('pageerror', (e) => consoleErrors.push({ text: `page error: ${e.message}`, url: p.url() }));
      try {
        await signIn(p, ADMIN_TOKEN);
        const sub = ((await hub.call('GET', '/subscriptions')).body.items as { id: string; name: string }[]).find((x) => x.name === 'stats hook') ??
          (await subscribe({ name: 'narrow hook', provider: 'webhook', config: { url: `${receiver.url}/narrow` } }));
        const [d] = (await ingest('incident.created', 'evt-390')).filter((x) => x.subscriptionId === sub.id);
        if (d) await settled(d.id);
        const delivery = d?.id ?? (await hub.call('GET', '/deliveries?limit=1')).body.items[0].id;
        const pages: [string, string, (() => Promise<void>)?][] = [
          ['/', 'Overview'],
          ['/subscriptions', 'Subscriptions'],
          ['/subscriptions/new', 'New subscription', async () => {
            await p.getByLabel('Provider *').selectOption('jira');
            await p.getByTestId('picker-hint-config.projectKey').waitFor();
          }],
          [`/subscriptions/${sub.id}`, `Edit ${sub.name}`, async () => { await p.getByTestId('chart').waitFor(); }],
          ['/deliveries', 'Delivery log'],
          [`/deliveries/${delivery}`, 'Delivery', async () => {
            await p.getByTestId('attempt').first().getByRole('button', { name: /Show request and response/ }).click();
            await p.getByTestId('exchanges-1').waitFor();
          }],
          ['/targets', 'Targets'],
          ['/connections', 'Connections'],
          ['/events', 'Events'],
          ['/plugins', 'Plugins', async () => { await p.getByRole('region', { name: 'Plugin Manager' }).getByRole('table').waitFor(); }],
          ['/tokens', 'Tokens'],
        ];
        const wide: string[] = [];
        for (const [path, heading, open] of pages) {
          await p.goto(ui(path));
          await p.getByRole('heading', { name: heading, exact: heading !== 'Delivery' }).first().waitFor();
          await p.locator('.state[role="status"]').first().waitFor({ state: 'detached' }).catch(() => undefined);
          await open?.();
          const width = Number(await p.evaluate('document.documentElement.scrollWidth'));
          if (width > 390) wide.push(`${path}: ${width} px`);
          if (path === `/deliveries/${delivery}`) await shot(p, 'delivery-request-response-390px');
          if (path === '/') await shot(p, 'overview-chart-390px');
        }
        assert.deepEqual(wide, [], 'pages wider than 390 px');
      } finally {
        await narrow.close();
      }
    });
  });

  // the one provoked failure: installing a version the registry does not have (404, shown on the form)
  after(() => assert.deepEqual(consoleErrors.filter((e) => !(e.url.endsWith('/api/v1/plugins') && e.text.includes('404'))), [], 'no JS errors in the browser console'));
});
