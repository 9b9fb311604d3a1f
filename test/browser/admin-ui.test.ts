import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { UI_CSP } from '../../src/http/ui';
import { JiraFake } from '../fakes/jira';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { launchChromium } from '../support/browser';
import { PROJECT_ROOT } from '../support/stack';

// UI_SCREENSHOTS=docs/screenshots keeps a screenshot of each page (docs/ui.md shows them)
const SHOTS = process.env.UI_SCREENSHOTS ? path.resolve(PROJECT_ROOT, process.env.UI_SCREENSHOTS) : undefined;

describe('admin UI in a real Chromium against the real stack', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let subscriptionId: string;
  let viewerToken: string;
  const consoleErrors: { text: string; url: string }[] = [];

  const ui = (p: string) => `${hub.baseUrl}/ui${p}`;
  const watchConsole = (p: Page) => {
    p.on('console', (m: ConsoleMessage) => m.type() === 'error' && consoleErrors.push({ text: m.text(), url: m.location().url }));
    p.on('pageerror', (e) => consoleErrors.push({ text: `page error: ${e.message}`, url: p.url() }));
  };
  const shot = async (p: Page, name: string) => {
    if (!SHOTS) return;
    fs.mkdirSync(SHOTS, { recursive: true });
    await p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const signIn = async (p: Page, token: string) => {
    const res = await p.goto(ui('/'));
    assert.equal(res?.headers()['content-security-policy'], UI_CSP);
    // where the admin token is: ADMIN_TOKEN when set (the dev-secrets.json one is refused then)
    assert.match((await p.locator('main').textContent({ timeout: 10_000 })) ?? '', /ADMIN_TOKEN you set, else the one written to \.data\/dev-secrets\.json/);
    // by keyboard: the token field has the focus, Enter submits
    await focusOn(p, 'token');
    await p.keyboard.type(token);
    await p.keyboard.press('Enter');
    await p.getByRole('navigation', { name: 'Main' }).waitFor();
  };
  // polled from here: Playwright's waitForFunction evaluates its predicate with eval, which our CSP refuses
  const focusOn = (p: Page, id: string) =>
    waitFor(async () => (await p.evaluate('document.activeElement ? document.activeElement.id : ""')) === id, `the focus on #${id}`, 10_000);
  const ingest = (id: string) =>
    hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'] } }, INGEST_TOKEN);

  before(async () => {
    receiver = await new Receiver().start();
    // /fail answers 400 (permanent) until told otherwise
    let failing = true;
    receiver.fallback = (r) => (r.url.startsWith('/fail') && failing ? { status: 400, body: 'bad request' } : { status: 200, body: '{"ok":true}' });
    (receiver as unknown as { heal: () => void }).heal = () => (failing = false);
    hub = await Hub.start('browser_ui', { PROVIDER_PLUGINS: './examples/provider-plugin-discord,./test/fixtures/plugins/broken-throws' });
    viewerToken = (await hub.call('POST', '/tokens', { name: 'read only', role: 'viewer' })).body.token;
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await admin.newPage();
    watchConsole(page);
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await receiver?.stop();
  });

  it('signs in with an API token and shows the overview, under a strict CSP', async () => {
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(await page.getByTestId('role').textContent(), 'admin');
    const cookies = await admin.cookies();
    const session = cookies.find((c) => c.name === 'ih_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));
    assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is not readable by scripts');
    await shot(page, 'overview-empty');
  });

  it('says on the targets page, reached from the nav, that no target has been attempted yet', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Targets' }).click();
    await page.waitForURL(/\/ui\/targets$/);
    await page.getByText('No target has been attempted yet.').waitFor();
    assert.equal(await page.getByTestId('target-row').count(), 0);
  });

  it("creates a webhook subscription through the form, showing the API's message on the wrong field first", async () => {
    await page.goto(ui('/subscriptions/new'));
    await page.getByLabel('Name *').fill('ops receiver');
    await page.getByLabel('Event *').selectOption('incident.created');
    await page.locator('#f-config-url').fill('ftp://not-http.example');
    await page.getByLabel('Policy').selectOption('schedule');
    await page.getByLabel(/Delays before each retry/).fill('3000');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/subscriptions') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Create subscription' }).click(),
    ]);
    assert.equal(res.status(), 400);
    const problem = await res.json();
    const urlProblem = problem.errors.find((e: { path: string }) => e.path === 'config.url');
    assert.ok(urlProblem, JSON.stringify(problem));
    const shown = page.locator('#f-config-url-error');
    await shown.waitFor();
    assert.equal(await shown.textContent(), urlProblem.message);
    assert.equal(await page.locator('#f-config-url').getAttribute('aria-invalid'), 'true');
    // focus moves to the wrong field (in the frame after the error renders)
    await focusOn(page, 'f-config-url');
    await shot(page, 'subscription-form-error');

    await page.locator('#f-config-url').fill(`${receiver.url}/hook`);
    // preview: the provider renders the event's example; nothing is sent or saved
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByTestId('preview');
    await preview.getByText(`POST ${receiver.url}/hook`).waitFor();
    assert.match((await preview.textContent()) ?? '', /"type": "incident\.created"/);
    assert.equal(receiver.received.length, 0, 'a preview sends nothing');
    await preview.scrollIntoViewIfNeeded();
    await shot(page, 'subscription-preview');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    const row = page.getByTestId('subscription-row').filter({ hasText: 'ops receiver' });
    await row.waitFor();
    subscriptionId = (await row.getAttribute('data-id'))!;
    const stored = await hub.call('GET', `/subscriptions/${subscriptionId}`);
    assert.equal(stored.body.config.url, `${receiver.url}/hook`);
    assert.deepEqual(stored.body.retryPolicy, { scheduleMs: [3000] });
  });

  it('test sends from the table and shows the resulting delivery going retrying -> success live, with its timeline', async () => {
    receiver.script.push({ status: 503, body: 'busy' });
    await page.goto(ui('/subscriptions'));
    await page.getByTestId('subscription-row').filter({ hasText: 'ops receiver' }).getByRole('button', { name: 'Test send' }).click();
    await page.waitForURL(/\/ui\/deliveries\/dlv_/);
    await page.evaluate('window.still = true');
    await page.locator('.page-head .badge', { hasText: 'retrying' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('countdown').waitFor();
    await shot(page, 'delivery-retrying');
    await page.locator('.page-head .badge', { hasText: 'success' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate('window.still'), true, 'no reload');
    const attempts = page.getByTestId('timeline').locator('li');
    await waitFor(async () => (await attempts.count()) === 2, 'two attempts in the timeline');
    assert.match((await attempts.nth(0).textContent()) ?? '', /retryable.*HTTP 503/);
    assert.match((await attempts.nth(1).textContent()) ?? '', /success.*HTTP 200/);
    assert.equal(receiver.at('/hook').length, 2);
    await shot(page, 'delivery-detail');
  });

  it("lists the receiver's origin on the targets page with its circuit closed, its subscription linked, and keeps the state filter in the URL", async () => {
    // the test send above reached the receiver: its origin is a target with attempts in the window
    await page.goto(ui('/targets'));
    await page.getByRole('heading', { name: 'Targets', exact: true }).waitFor();
    const row = page.locator(`[data-testid="target-row"][data-target="${receiver.url}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'closed');
    await row.locator('.badge', { hasText: 'closed' }).waitFor();
    assert.match((await row.textContent()) ?? '', /webhook/);
    await row.getByRole('link', { name: 'ops receiver' }).waitFor();
    // a configured rate limit is joined to its target by key
    const limitPath = `/targets/${encodeURIComponent(receiver.url)}/limit`;
    assert.equal((await hub.call('PUT', limitPath, { requestsPerSecond: 40 })).status, 200);
    try {
      await page.reload();
      await row.getByText('40/s').waitFor();
    } finally {
      assert.equal((await hub.call('DELETE', limitPath)).status, 204);
    }
    assert.equal(await page.getByRole('link', { name: 'Targets' }).getAttribute('aria-current'), 'page');
    await shot(page, 'targets');
    // the state filter goes into the URL and survives a reload; no target is open
    await page.getByLabel('State').selectOption('open');
    await page.waitForURL(/\/ui\/targets\?state=open$/);
    await page.getByText('No target is open.').waitFor();
    assert.equal(await page.getByTestId('target-row').count(), 0);
    await page.reload();
    await page.getByText('No target is open.').waitFor();
    assert.equal(await page.getByLabel('State').inputValue(), 'open');
    await page.getByLabel('State').selectOption('closed');
    await page.waitForURL(/\/ui\/targets\?state=closed$/);
    await row.waitFor();
  });

  it('shows a new delivery in the log and its status change live, without reload', async () => {
    await page.goto(ui('/deliveries'));
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.evaluate('window.still = true');
    receiver.script.push({ status: 503, body: 'busy' });
    const res = await ingest('evt-live-ui');
    const id = res.body.deliveries[0].id as string;
    const row = page.locator(`[data-testid="delivery-row"][data-id="${id}"]`);
    await page.locator(`[data-testid="delivery-row"][data-id="${id}"][data-status="retrying"]`).waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid="delivery-row"][data-id="${id}"][data-status="success"]`).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate('window.still'), true, 'no reload');
    assert.equal(await row.count(), 1);
    await shot(page, 'delivery-log');
  });

  it('retries a failed delivery from its detail page', async () => {
    const sub = await hub.call('POST', '/subscriptions', { name: 'fails', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/fail` } });
    assert.equal(sub.status, 201);
    const res = await ingest('evt-fails');
    const id = res.body.deliveries.find((d: { subscriptionId: string }) => d.subscriptionId === sub.body.id).id as string;
    await waitFor(async () => (await hub.call('GET', `/deliveries/${id}`)).body.status === 'failed', 'the delivery to fail');
    await page.goto(ui(`/deliveries/${id}`));
    await page.getByTestId('error').waitFor();
    assert.match((await page.getByTestId('error').textContent()) ?? '', /400/);
    await shot(page, 'delivery-failed');
    // a permanent failure is not offered a "Retry now" (it would fail the same way): it says so, and can be sent again once fixed
    await page.getByTestId('permanent-hint').filter({ hasText: /failed permanently \(HTTP 400\)/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Retry now' }).count(), 0);
    (receiver as unknown as { heal: () => void }).heal();
    await page.getByRole('button', { name: 'Send again' }).click();
    await page.locator('.page-head .badge', { hasText: 'success' }).waitFor({ timeout: 30_000 });
    const last = page.getByTestId('timeline').locator('li').last();
    await waitFor(async () => /success/.test((await last.textContent()) ?? ''), 'the manual attempt in the timeline');
    assert.match((await last.textContent()) ?? '', /manual/);
    // leave one failed delivery of that subscription for the filter test
    receiver.fallback = (r) => (r.url.startsWith('/fail') ? { status: 400, body: 'bad request' } : { status: 200, body: '{"ok":true}' });
    const again = await ingest('evt-fails-2');
    const id2 = again.body.deliveries.find((d: { subscriptionId: string }) => d.subscriptionId === sub.body.id).id as string;
    await waitFor(async () => (await hub.call('GET', `/deliveries/${id2}`)).body.status === 'failed', 'the second delivery to fail');
  });

  it('filters the log by status and subscription, keeps the filters in the URL and after a reload', async () => {
    const subs = (await hub.call('GET', '/subscriptions')).body.items as { id: string; name: string }[];
    const fails = subs.find((s) => s.name === 'fails')!;
    await page.goto(ui('/deliveries'));
    await page.getByRole('checkbox', { name: 'failed' }).check();
    await page.waitForURL(/status=failed/);
    await page.getByRole('checkbox', { name: 'success' }).check();
    await page.getByLabel('Subscription').selectOption(fails.id);
    await page.waitForURL((u) => u.searchParams.get('subscriptionId') === fails.id && u.searchParams.get('status') === 'success,failed');
    const shared = page.url();
    const expected = (await hub.call('GET', `/deliveries?status=success,failed&subscriptionId=${fails.id}`)).body.items.map((d: { id: string }) => d.id);
    assert.ok(expected.length >= 2, JSON.stringify(expected));
    const rows = page.getByTestId('delivery-row');
    const ids = async () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    await waitFor(async () => JSON.stringify(await ids()) === JSON.stringify(expected), 'the filtered rows');
    await page.reload();
    assert.equal(page.url(), shared);
    await waitFor(async () => JSON.stringify(await ids()) === JSON.stringify(expected), 'the same rows after a reload');
    assert.equal(await page.getByRole('checkbox', { name: 'failed' }).isChecked(), true);
    assert.equal(await page.getByRole('checkbox', { name: 'pending' }).isChecked(), false);
    assert.equal(await page.getByLabel('Subscription').inputValue(), fails.id);
    await shot(page, 'delivery-log-filtered');
  });

  it("renders a plugin provider's form from its schema (no UI code), its secret write-only; lists plugins with source@version and load errors", async () => {
    const secretUrl = 'https://discord.com/api/webhooks/123456/very-secret-token-abc';
    await page.goto(ui('/subscriptions/new'));
    await page.getByLabel('Name *').fill('to discord');
    await page.getByLabel('Event *').selectOption('incident.created');
    await page.getByLabel('Provider *').selectOption('discord-example');
    const secret = page.locator('#f-config-webhookUrl');
    assert.equal(await secret.getAttribute('type'), 'password');
    await secret.fill(secretUrl);
    await page.getByRole('button', { name: 'Create subscription' }).click();
    const row = page.getByTestId('subscription-row').filter({ hasText: 'to discord' });
    await row.waitFor();
    await row.getByRole('link', { name: 'to discord' }).click();
    await page.getByRole('button', { name: 'Replace' }).waitFor();
    assert.ok(!(await page.content()).includes('very-secret-token'), 'the stored secret is never sent to the page');
    // saving without touching the secret keeps it
    await page.getByLabel('Description').fill('kept secret');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    const id = (await row.getAttribute('data-id'))!;
    const stored = await hub.dataSource.query(`SELECT description, config FROM subscriptions WHERE id = $1`, [id]);
    assert.equal(stored[0].description, 'kept secret');
    assert.ok(stored[0].config.webhookUrl, 'the secret is still stored');
    assert.ok(!JSON.stringify(stored[0].config).includes('very-secret-token'), 'and encrypted');

    await page.goto(ui('/plugins'));
    await page.getByRole('heading', { name: 'Plugins that failed to load' }).waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /@integrations-hub\/provider-discord@0\.1\.0/);
    assert.match(text, /broken-throws/);
    await hub.call('DELETE', `/subscriptions/${id}`);
  });

  it('creates a connection from its schema (Jira: pick cloud, then its fields), tests it, and explains the 409 of deleting one in use', async () => {
    const jira = await new JiraFake().start();
    try {
      await page.goto(ui('/connections'));
      await page.getByText('No connection yet').waitFor();
      await page.getByRole('button', { name: 'New connection' }).click();
      const dialog = page.getByRole('dialog', { name: 'New connection' });
      await dialog.getByLabel('Name *').fill('Ops Jira');
      await dialog.getByLabel('Provider').selectOption('jira');
      await dialog.getByLabel('Flavor').selectOption('cloud');
      await dialog.locator('#f-config-baseUrl').fill(jira.url);
      await dialog.locator('#f-config-email').fill(jira.email);
      await dialog.locator('#f-config-apiToken').fill(jira.apiToken);
      await dialog.getByRole('button', { name: 'Save' }).click();
      const row = page.getByRole('row').filter({ hasText: 'Ops Jira' });
      await row.waitFor();
      await row.getByRole('button', { name: 'Test' }).click();
      await row.getByText('Connected as Ada Lovelace').waitFor();
      const conn = (await hub.call('GET', '/connections')).body.items.find((c: { name: string }) => c.name === 'Ops Jira');
      assert.deepEqual(conn.config.apiToken, { set: true });
      const sub = await hub.call('POST', '/subscriptions', {
        name: 'jira issues', provider: 'jira', connectionId: conn.id, event: 'incident.created', config: { projectKey: 'OPS', issueTypeId: '10001' },
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      await row.getByRole('button', { name: 'Delete' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete Ops Jira?' });
      await confirm.getByRole('button', { name: 'Delete' }).click();
      await confirm.getByText(/still used by subscriptions/).waitFor();
      await shot(page, 'connection-in-use');
      await page.keyboard.press('Escape');
      assert.equal((await hub.call('GET', `/connections/${conn.id}`)).status, 200, 'still there');
      await hub.call('DELETE', `/subscriptions/${sub.body.id}`);
    } finally {
      await jira.stop();
    }
  });

  it('screens the other pages: overview with totals, connections, events, plugins, tokens; and works at 390 px', async () => {
    for (const [p, heading, name] of [['/', 'Overview', 'overview'], ['/connections', 'Connections', ''], ['/events', 'Events', 'events'], ['/plugins', 'Plugins', 'plugins'], ['/tokens', 'Tokens', 'tokens'], ['/subscriptions', 'Subscriptions', 'subscriptions']] as const) {
      await page.goto(ui(p));
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.locator('.state[role="status"]').first().waitFor({ state: 'detached' }).catch(() => undefined);
      if (name) await shot(page, name);
    }
    // deleting asks first; Escape closes the question and nothing is deleted
    await page.goto(ui('/subscriptions'));
    await page.getByTestId('subscription-row').filter({ hasText: 'fails' }).getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete fails?' });
    await dialog.waitFor();
    await shot(page, 'subscription-delete-confirm');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok((await hub.call('GET', '/subscriptions')).body.items.some((x: { name: string }) => x.name === 'fails'));

    const narrow = await admin.newPage();
    watchConsole(narrow);
    await narrow.setViewportSize({ width: 390, height: 844 });
    await narrow.goto(ui('/deliveries'));
    await narrow.getByTestId('delivery-row').first().waitFor();
    const overflow = (await narrow.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 0, `no horizontal page scroll at 390 px (${overflow} px)`);
    await narrow.getByRole('button', { name: 'Menu' }).click();
    await narrow.getByRole('link', { name: 'Subscriptions' }).click();
    await narrow.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    await shot(narrow, 'subscriptions-390px');
    await narrow.close();
  });

  it('shows a viewer no edit controls, and refuses a forged write from the viewer session', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const v = await ctx.newPage();
      watchConsole(v);
      await signIn(v, viewerToken);
      await v.goto(ui('/subscriptions'));
      await v.getByTestId('subscription-row').first().waitFor();
      for (const name of ['New subscription', 'Test send', 'Replay…', 'Delete']) assert.equal(await v.getByRole(name === 'New subscription' ? 'link' : 'button', { name }).count(), 0, name);
      assert.equal(await v.getByRole('switch').count(), 0);
      assert.equal(await v.getByRole('link', { name: 'Tokens' }).count(), 0);
      await v.goto(ui(`/subscriptions/${subscriptionId}`));
      await v.locator('#f-name').waitFor();
      assert.equal(await v.getByRole('button', { name: 'Save' }).count(), 0);
      const someDelivery = (await hub.call('GET', '/deliveries?limit=1')).body.items[0].id;
      await v.goto(ui(`/deliveries/${someDelivery}`));
      await v.getByTestId('attempts').waitFor();
      assert.equal(await v.getByRole('button', { name: /Retry now|Redeliver|Send again/ }).count(), 0);
      await v.goto(ui('/deliveries'));
      await v.getByTestId('delivery-row').first().waitFor();
      assert.equal(await v.getByRole('button', { name: 'Recover failed…' }).count(), 0);
      await v.goto(ui('/targets'));
      await v.getByTestId('target-row').first().waitFor();
      assert.equal(await v.getByRole('button').filter({ hasNotText: /Sign out|Menu/ }).count(), 0, 'no controls on the targets page');
      await shot(v, 'viewer-delivery-log');
      // a forged write with the session's own CSRF token: the API still says no
      const forged = (await v.evaluate(`(async () => {
        const s = await (await fetch('/api/v1/session')).json();
        const r = await fetch('/api/v1/subscriptions/${subscriptionId}', { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: '{"enabled":false}' });
        return { status: r.status, body: await r.json() };
      })()`)) as { status: number; body: unknown };
      assert.equal(forged.status, 403, JSON.stringify(forged));
      assert.equal((await hub.call('GET', `/subscriptions/${subscriptionId}`)).body.enabled, true);
    } finally {
      await ctx.close();
    }
  });

  it('replays the missed events to a subscription created after them, from its row, and shows the progress', async () => {
    const created = await hub.call('POST', '/subscriptions', {
      name: 'late receiver', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/late` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const [{ n }]: { n: string }[] = await hub.dataSource.query(
      `SELECT count(*) AS n FROM emissions WHERE event = 'incident.created' AND NOT test AND received_at > now() - interval '24 hours'`,
    );
    assert.ok(Number(n) > 0, 'the suite ingested incidents before this subscription existed');
    await page.goto(ui('/subscriptions'));
    const row = page.getByTestId('subscription-row').filter({ hasText: 'late receiver' });
    await row.getByRole('button', { name: 'Replay…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay', exact: true }).click();
    await row.getByTestId('replay-progress').filter({ hasText: 'Replay done' }).waitFor({ timeout: 60_000 });
    assert.equal(await row.getByTestId('replay-progress').textContent(), `Replay done: ${n} sent, 0 already had, of ${n}`);
    await waitFor(async () => receiver.at('/late').length === Number(n), `${n} replayed deliveries at the receiver`, 60_000, 100);
  });

  // issue 23, defects: each case failed on the UI before the fix
  const newSubscription = async (name: string, provider: string) => {
    await page.goto(ui('/subscriptions/new'));
    await page.getByLabel('Name *').fill(name);
    await page.getByLabel('Event *').selectOption('incident.created');
    await page.getByLabel('Provider *').selectOption(provider);
  };
  const createAndFind = async (name: string) => {
    await page.getByRole('button', { name: 'Create subscription' }).click();
    const row = page.getByTestId('subscription-row').filter({ hasText: name });
    await row.waitFor();
    return (await row.getAttribute('data-id'))!;
  };
  /** Every text box's value on the page: none may show a masked secret as JSON. */
  const textValues = (p: Page) => p.locator('textarea, input:not([type="password"])').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));

  it("shows the fields of the kind shown selected (Jira Flavor: cloud, Teams Mode: workflow) without touching the picker, and names the wrong field on save", async () => {
    const jira = await new JiraFake().start();
    try {
      await page.goto(ui('/connections'));
      await page.getByRole('button', { name: 'New connection' }).click();
      const dialog = page.getByRole('dialog', { name: 'New connection' });
      await dialog.getByLabel('Name *').fill('Jira by default');
      await dialog.getByLabel('Provider').selectOption('jira');
      assert.equal(await dialog.getByLabel('Flavor').inputValue(), 'cloud');
      // the flavor is left alone: its fields are there at once
      await dialog.locator('#f-config-baseUrl').fill('ftp://jira.example.com', { timeout: 5000 });
      await dialog.locator('#f-config-email').fill(jira.email);
      await dialog.locator('#f-config-apiToken').fill(jira.apiToken);
      assert.equal(await dialog.locator('#f-config-apiToken').getAttribute('type'), 'password');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/connections') && r.request().method() === 'POST'),
        dialog.getByRole('button', { name: 'Save' }).click(),
      ]);
      assert.equal(res.status(), 400);
      const problem = await res.json();
      assert.deepEqual(problem.errors.map((e: { path: string }) => e.path), ['config.baseUrl'], JSON.stringify(problem));
      await dialog.locator('#f-config-baseUrl-error').filter({ hasText: problem.errors[0].message }).waitFor();
      assert.equal(await dialog.locator('#f-config-baseUrl').getAttribute('aria-invalid'), 'true');
      await focusOn(page, 'f-config-baseUrl');
      await shot(page, 'connection-jira-field-error');
      await dialog.locator('#f-config-baseUrl').fill(jira.url);
      await dialog.getByRole('button', { name: 'Save' }).click();
      const row = page.getByRole('row').filter({ hasText: 'Jira by default' });
      await row.waitFor();
      const conn = (await hub.call('GET', '/connections')).body.items.find((c: { name: string }) => c.name === 'Jira by default');
      assert.deepEqual({ ...conn.config, baseUrl: undefined }, { flavor: 'cloud', email: jira.email, apiToken: { set: true }, baseUrl: undefined });
      await row.getByRole('button', { name: 'Test' }).click();
      await row.getByText('Connected as Ada Lovelace').waitFor();
      assert.equal((await hub.call('DELETE', `/connections/${conn.id}`)).status, 204);
    } finally {
      await jira.stop();
    }

    // Teams: Mode shows workflow; its webhook URL is there, write-only
    await newSubscription('teams by default', 'teams');
    assert.equal(await page.getByLabel('Mode').inputValue(), 'workflow');
    const url = page.locator('#f-config-webhookUrl');
    await url.waitFor({ timeout: 5000 });
    assert.equal(await url.getAttribute('type'), 'password');
    await url.fill(`${receiver.url}/teams/workflow?sig=teams-secret-sig`);
    const id = await createAndFind('teams by default');
    const stored = await hub.call('GET', `/subscriptions/${id}`);
    assert.deepEqual(stored.body.config, { mode: 'workflow', webhookUrl: { set: true } });
    await hub.call('DELETE', `/subscriptions/${id}`);
  });

  it('makes every secret write-only with set / Replace (Slack webhook URL, signing secrets) and every string a text field (Telegram @channel)', async () => {
    // Slack's webhook URL is a nullable secret (anyOf [secret, null])
    await newSubscription('slack hook', 'slack');
    const hook = page.locator('#f-config-webhookUrl');
    assert.equal(await hook.getAttribute('type'), 'password');
    await hook.fill(`${receiver.url}/slack/T000/B000/slack-secret-123`);
    const slackId = await createAndFind('slack hook');
    await page.goto(ui(`/subscriptions/${slackId}`));
    await page.getByRole('button', { name: 'Replace the stored Webhook URL' }).waitFor();
    await page.locator('#f-config-webhookUrl').scrollIntoViewIfNeeded();
    await shot(page, 'subscription-secret-set');
    assert.ok(!(await page.content()).includes('slack-secret-123'), 'the stored secret is never sent to the page');
    assert.deepEqual((await textValues(page)).filter((v) => /"set"|\[object Object\]/.test(v)), [], 'no masked secret shown as JSON');
    await page.getByLabel('Description').fill('kept hook');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    const [slackRow] = await hub.dataSource.query(`SELECT description, config FROM subscriptions WHERE id = $1`, [slackId]);
    assert.equal(slackRow.description, 'kept hook');
    assert.ok(slackRow.config.webhookUrl?.ct ?? slackRow.config.webhookUrl, 'the secret is still stored');
    assert.ok(!JSON.stringify(slackRow.config).includes('slack-secret-123'), 'and encrypted');
    await hub.call('DELETE', `/subscriptions/${slackId}`);

    // webhook signing secrets (the signing widget, test/browser/ui-gaps.test.ts): said to be stored, never [{"set": true}]
    const whsec = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const signed = await hub.call('POST', '/subscriptions', {
      name: 'signed hook', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/signed`, signing: { secrets: [whsec] } },
    });
    assert.equal(signed.status, 201, JSON.stringify(signed.body));
    await page.goto(ui(`/subscriptions/${signed.body.id}`));
    await page.getByTestId('signing-state').filter({ hasText: 'One signing secret stored' }).waitFor({ timeout: 5000 });
    assert.deepEqual((await textValues(page)).filter((v) => /"set"|\[object Object\]/.test(v)), []);
    assert.ok(!(await page.content()).includes(whsec));
    await hub.call('DELETE', `/subscriptions/${signed.body.id}`);

    // Telegram's chat id is an integer or "@channel": a text field that takes both
    const tg = await hub.call('POST', '/connections', { provider: 'telegram', name: 'tg bot', config: { botToken: '123456:abcdefghijklmnopqrstuvwxyz', apiBaseUrl: receiver.url } });
    assert.equal(tg.status, 201, JSON.stringify(tg.body));
    await newSubscription('to a channel', 'telegram');
    await page.getByLabel('Connection *').selectOption(tg.body.id);
    const chat = page.locator('#f-config-chatId');
    assert.equal(await chat.evaluate((e) => e.tagName), 'INPUT');
    assert.equal(await chat.getAttribute('type'), 'text');
    await chat.fill('@ops_channel');
    const tgId = await createAndFind('to a channel');
    assert.equal((await hub.call('GET', `/subscriptions/${tgId}`)).body.config.chatId, '@ops_channel');
    await page.goto(ui(`/subscriptions/${tgId}`));
    assert.equal(await page.locator('#f-config-chatId').inputValue(), '@ops_channel');
    await hub.call('DELETE', `/subscriptions/${tgId}`);
    await hub.call('DELETE', `/connections/${tg.body.id}`);
  });

  it('refuses Preview and Create while an object field (Headers) holds JSON that does not parse, naming it', async () => {
    const sent: string[] = [];
    const onRequest = (r: { url: () => string; method: () => string }) => { if (r.method() === 'POST' && /\/api\/v1\/subscriptions/.test(r.url())) sent.push(r.url()); };
    page.on('request', onRequest);
    try {
      await newSubscription('bad headers', 'webhook');
      await page.locator('#f-config-url').fill(`${receiver.url}/headers`);
      await page.locator('#f-config-headers').fill('{"X-Team": ');
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.locator('#f-config-headers-error').filter({ hasText: /not valid JSON/ }).waitFor();
      await focusOn(page, 'f-config-headers');
      await page.getByRole('button', { name: 'Create subscription' }).click();
      await page.getByTestId('local-errors').filter({ hasText: 'config.headers' }).waitFor();
      await page.locator('#f-config-headers').scrollIntoViewIfNeeded();
      await shot(page, 'subscription-bad-json');
      assert.deepEqual(sent, [], 'nothing was sent');
      assert.equal(await page.getByTestId('preview').count(), 0);
      await page.locator('#f-config-headers').fill('{"X-Team": "ops"}');
      assert.equal(await page.getByTestId('local-errors').count(), 0, 'fixed: the error goes');
      const id = await createAndFind('bad headers');
      assert.deepEqual((await hub.call('GET', `/subscriptions/${id}`)).body.config.headers, { 'X-Team': 'ops' });
      await hub.call('DELETE', `/subscriptions/${id}`);
    } finally {
      page.off('request', onRequest);
    }
  });

  it('hides the preview once the draft changes (another provider), so it never shows a request the form would not make', async () => {
    await newSubscription('previewed', 'webhook');
    await page.locator('#f-config-url').fill(`${receiver.url}/previewed`);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('preview').getByText(`POST ${receiver.url}/previewed`).waitFor();
    await page.getByLabel('Provider *').selectOption('slack');
    await page.getByTestId('preview').waitFor({ state: 'detached', timeout: 5000 });
    await page.getByLabel('Provider *').selectOption('webhook');
    await page.locator('#f-config-url').fill(`${receiver.url}/other`);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('preview').getByText(`POST ${receiver.url}/other`).waitFor();
    await page.locator('#f-config-url').fill(`${receiver.url}/changed`);
    await page.getByTestId('preview').waitFor({ state: 'detached', timeout: 5000 });
  });

  it('refuses at save and preview a literal address the outbound policy refuses (169.254.169.254, 10.x), naming the field', async () => {
    await newSubscription('metadata', 'webhook');
    await page.locator('#f-config-url').fill('http://169.254.169.254/latest/meta-data/');
    for (const [button, endpoint] of [['Preview', '/api/v1/subscriptions/preview'], ['Create subscription', '/api/v1/subscriptions']] as const) {
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(endpoint) && r.request().method() === 'POST'),
        page.getByRole('button', { name: button }).click(),
      ]);
      assert.equal(res.status(), 400, button);
      const problem = await res.json();
      assert.equal(problem.errors[0].path, 'config.url', JSON.stringify(problem));
      await page.locator('#f-config-url-error').filter({ hasText: /169\.254\.169\.254.*outbound policy refuses/ }).waitFor();
      await focusOn(page, 'f-config-url');
      if (button === 'Preview') await shot(page, 'subscription-refused-address');
      assert.equal(await page.getByTestId('preview').count(), 0);
    }
    // the API itself: PATCH, a secret URL (named, not echoed), a connection; 127.0.0.1 stays allowed by the test allow-list
    const patched = await hub.call('PATCH', `/subscriptions/${subscriptionId}`, { config: { url: 'http://10.0.0.7/hook' } });
    assert.equal(patched.status, 400);
    assert.deepEqual(patched.body.errors.map((e: { path: string }) => e.path), ['config.url']);
    const slack = await hub.call('POST', '/subscriptions', { name: 's', provider: 'slack', event: 'incident.created', config: { webhookUrl: 'http://10.0.0.7/services/very-secret' } });
    assert.equal(slack.status, 400);
    assert.equal(slack.body.errors[0].path, 'config.webhookUrl');
    assert.ok(!JSON.stringify(slack.body).includes('very-secret'));
    const conn = await hub.call('POST', '/connections', { provider: 'jira', name: 'j', config: { flavor: 'cloud', baseUrl: 'http://169.254.169.254', email: 'a@b.c', apiToken: 't' } });
    assert.equal(conn.status, 400);
    assert.equal(conn.body.errors[0].path, 'config.baseUrl');
    assert.equal((await hub.call('GET', `/subscriptions/${subscriptionId}`)).body.config.url, `${receiver.url}/hook`, 'unchanged');
  });

  it('says a connection whose URL answered {"ok":true} is not a Jira API (not "Connected as an unnamed user")', async () => {
    const conn = await hub.call('POST', '/connections', { provider: 'jira', name: 'Not Jira', config: { flavor: 'cloud', baseUrl: receiver.url, email: 'a@b.c', apiToken: 'token' } });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    await page.goto(ui('/connections'));
    const row = page.getByRole('row').filter({ hasText: 'Not Jira' });
    await row.getByRole('button', { name: 'Test' }).click();
    await row.getByText(/not as a Jira API/).waitFor();
    await shot(page, 'connection-not-jira');
    assert.doesNotMatch((await row.textContent()) ?? '', /Connected as/);
    await hub.call('DELETE', `/connections/${conn.body.id}`);
  });

  it('fits every page in a 390 px wide viewport (no page wider than the viewport), expanded events included, also at 1280 px', async () => {
    const delivery = (await hub.call('GET', '/deliveries?limit=1')).body.items[0].id as string;
    const pages: [string, string | RegExp][] = [
      ['/', 'Overview'], ['/subscriptions', 'Subscriptions'], ['/subscriptions/new', 'New subscription'], [`/subscriptions/${subscriptionId}`, /^Edit /],
      ['/deliveries', 'Delivery log'], [`/deliveries/${delivery}`, /^Delivery dlv_/], ['/events', 'Events'], ['/connections', 'Connections'],
      ['/targets', 'Targets'], ['/plugins', 'Plugins'], ['/tokens', 'Tokens'],
    ];
    // the page's width beyond the viewport, and the widest elements sticking out (to say what to fix)
    const measure = async (p: Page) => (await p.evaluate(`(() => {
      const vw = window.innerWidth;
      const out = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > vw + 0.5)
        .filter((e) => !e.parentElement || e.parentElement.getBoundingClientRect().right <= vw + 0.5)
        .slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
      return { over: document.documentElement.scrollWidth - vw, out };
    })()`)) as { over: number; out: string[] };
    const tooWide: string[] = [];
    const check = async (p: Page, what: string) => {
      const m = await measure(p);
      if (m.over > 0) tooWide.push(`${what}: ${m.over} px too wide (${m.out.join(', ')})`);
    };
    const narrow = await admin.newPage();
    watchConsole(narrow);
    try {
      await narrow.setViewportSize({ width: 390, height: 844 });
      for (const [p, heading] of pages) {
        await narrow.goto(ui(p));
        await narrow.getByRole('heading', { name: heading, exact: typeof heading === 'string' }).first().waitFor();
        await narrow.locator('.state[role="status"]').first().waitFor({ state: 'detached' }).catch(() => undefined);
        await check(narrow, `${p} at 390 px`);
        if (p === '/events') {
          for (const summary of await narrow.locator('details.event summary').all()) await summary.click();
          await narrow.locator('details.event[open]').first().waitFor();
          await check(narrow, '/events expanded at 390 px');
          await shot(narrow, 'events-expanded-390px');
          await narrow.setViewportSize({ width: 1280, height: 800 });
          await check(narrow, '/events expanded at 1280 px');
          await narrow.setViewportSize({ width: 390, height: 844 });
        }
      }
      await narrow.goto(ui('/deliveries'));
      await narrow.getByTestId('delivery-row').first().waitFor();
      await shot(narrow, 'deliveries-390px');
    } finally {
      await narrow.close();
    }
    assert.deepEqual(tooWide, []);
  });

  it('says "just now", never "in 0 s", of a delivery that just happened, and no next retry once it finished', async () => {
    const d = (await hub.call('GET', '/deliveries?status=success&limit=1')).body.items[0];
    const p = await admin.newPage();
    watchConsole(p);
    try {
      // the browser's clock at the very moment the delivery was created
      await p.clock.setFixedTime(new Date(d.createdAt));
      await p.goto(ui('/deliveries'));
      const row = p.locator(`[data-testid="delivery-row"][data-id="${d.id}"]`);
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      assert.doesNotMatch(text, /\bin \d+ (s|min|h)/, text);
      assert.match(text, /just now/);
      await p.goto(ui(`/deliveries/${d.id}`));
      await p.getByTestId('attempts').waitFor();
      assert.doesNotMatch((await p.locator('main').textContent()) ?? '', /\bin \d+ (s|min|h)|due now/);
    } finally {
      await p.close();
    }
  });

  it('labels fields in words with their units (Timeout (ms), External ID path), not camelCase', async () => {
    await newSubscription('labels', 'webhook');
    for (const [label, id] of [['Timeout (ms)', 'f-config-timeoutMs'], ['External ID path', 'f-config-externalIdPath'], ['Extra retryable statuses', 'f-config-extraRetryableStatuses'], ['Body template', 'f-config-bodyTemplate']]) {
      assert.equal(await page.getByLabel(label, { exact: true }).getAttribute('id'), id, label);
    }
    await page.getByLabel('Provider *').selectOption('script');
    assert.equal(await page.getByLabel('Memory limit (MiB)', { exact: true }).getAttribute('id'), 'f-config-memoryLimitMb');
    // every provider's form: no camelCase label, no hint in the schema's own jargon
    const providers = (await page.getByLabel('Provider *').locator('option:not([disabled])').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)));
    const raw: string[] = [];
    for (const id of providers) {
      await page.getByLabel('Provider *').selectOption(id);
      const settings = page.locator('fieldset.nested').filter({ has: page.locator('legend', { hasText: / settings$/ }) });
      await settings.waitFor();
      for (const text of await settings.locator('label').allTextContents()) if (/\b[a-z]+[A-Z]|\b(Ms|Mb)\b/.test(text)) raw.push(`${id}: label "${text}"`);
      for (const text of await settings.locator('.hint').allTextContents()) if (/options resolver/i.test(text)) raw.push(`${id}: hint "${text}"`);
    }
    assert.ok(providers.length >= 10, providers.join());
    assert.deepEqual(raw, []);
  });

  it('moves the focus to the first wrong field on every refused submit, Create after Preview included', async () => {
    await page.goto(ui('/subscriptions/new'));
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.locator('#f-name-error').waitFor();
    await focusOn(page, 'f-name');
    await page.getByLabel('Name *').fill('focus');
    await page.getByLabel('Event *').selectOption('incident.created');
    await page.locator('#f-config-url').fill('ftp://wrong.example');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('#f-config-url-error').waitFor();
    await focusOn(page, 'f-config-url');
    // Create after a failed Preview: the marks are cleared and drawn again; the focus still lands on the field
    await page.getByRole('button', { name: 'Create subscription' }).focus();
    await page.keyboard.press('Enter');
    await focusOn(page, 'f-config-url');
  });

  it('confirms create, save and switching off with a notice; names the subscription on the delivery page; offers a way out of a 404', async () => {
    await newSubscription('noticed', 'webhook');
    await page.locator('#f-config-url').fill(`${receiver.url}/noticed`);
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByTestId('notice').filter({ hasText: 'Created noticed.' }).waitFor();
    const row = page.getByTestId('subscription-row').filter({ hasText: 'noticed' });
    const id = (await row.getAttribute('data-id'))!;
    await row.getByRole('link', { name: 'noticed' }).click();
    await page.getByLabel('Description').fill('with a notice');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('notice').filter({ hasText: 'Saved noticed.' }).waitFor();
    await row.getByRole('switch', { name: 'Enabled: noticed' }).click();
    await page.getByTestId('notice').filter({ hasText: 'noticed is off' }).waitFor();
    assert.equal((await hub.call('GET', `/subscriptions/${id}`)).body.enabled, false);
    await hub.call('DELETE', `/subscriptions/${id}`);

    // the delivery page names its subscription (the link still goes by id)
    const d = (await hub.call('GET', `/deliveries?subscriptionId=${subscriptionId}&limit=1`)).body.items[0];
    await page.goto(ui(`/deliveries/${d.id}`));
    await page.getByRole('link', { name: 'ops receiver' }).waitFor();

    // a delivery that does not exist: no "Try again", a way back instead
    await page.goto(ui('/deliveries/dlv_doesnotexist'));
    await page.getByRole('alert').filter({ hasText: /it may have been deleted/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Try again' }).count(), 0);
    await page.getByRole('main').getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('applies typed filters (system, find by id) by themselves like the others, without Apply', async () => {
    await page.goto(ui('/deliveries'));
    await page.getByTestId('delivery-row').first().waitFor();
    await page.getByLabel('System').fill('sys-a');
    await page.waitForURL((u) => u.searchParams.get('systemId') === 'sys-a', { timeout: 5000 });
    await page.getByLabel('Find by id').fill('evt-fails');
    await page.waitForURL((u) => u.searchParams.get('search') === 'evt-fails' && u.searchParams.get('systemId') === 'sys-a', { timeout: 5000 });
    await page.getByTestId('delivery-row').first().waitFor();
  });

  it('serves the bundle compressed (brotli) with Vary: Accept-Encoding, and as it is to a client that takes no encoding', async () => {
    const ctx = await browser.newContext();
    try {
      const p = await ctx.newPage();
      const [res] = await Promise.all([p.waitForResponse((r) => /\/ui\/assets\/[^/]+\.js$/.test(r.url())), p.goto(ui('/'))]);
      const headers = await res.allHeaders();
      assert.equal(headers['content-encoding'], 'br');
      assert.match(headers.vary ?? '', /Accept-Encoding/i);
      const plain = await fetch(res.url(), { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.headers.get('content-encoding'), null);
      const size = (await plain.arrayBuffer()).byteLength;
      assert.equal((await res.body()).byteLength, size, 'the same script');
      assert.ok(Number(headers['content-length']) < size / 2, `${headers['content-length']} bytes compressed of ${size}`);
    } finally {
      await ctx.close();
    }
  });

  it('printed no console errors but the provoked ones', () => {
    const provoked = (e: { text: string; url: string }) =>
      /status of 400/.test(e.text) && /\/api\/v1\/subscriptions$/.test(e.url) // the wrong field, on purpose
      || /status of 409/.test(e.text) && /\/api\/v1\/connections\/[^/]+$/.test(e.url) // deleting a connection in use
      || /status of 403/.test(e.text) && /\/api\/v1\/subscriptions\/sub_/.test(e.url) // the forged write
      || /status of 400/.test(e.text) && /\/api\/v1\/(connections|subscriptions\/preview)$/.test(e.url) // a wrong connection field, a refused address
      || /status of 404/.test(e.text) && /\/api\/v1\/deliveries\/dlv_doesnotexist$/.test(e.url) // the 404 page
      // the Telegram connection points at the receiver, not a Bot API: its chat picker says it could not load the choices
      || /status of 502/.test(e.text) && /\/api\/v1\/connections\/[^/]+\/options\/recentChats$/.test(e.url);
    assert.deepEqual(consoleErrors.filter((e) => !provoked(e)), []);
  });
});
