import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { JiraFake } from '../fakes/jira';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { launchChromium } from '../support/browser';

/** What an admin sees of ordered lanes on the delivery page: what a delivery waits for, what superseded it. */
describe('admin UI: a delivery waiting in its lane, then superseded (Chromium)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let jira: JiraFake;
  let browser: Browser;
  let page: Page;

  before(async () => {
    hub = await Hub.start('browser_lanes');
    jira = await new JiraFake().start();
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await jira?.stop();
  });

  it('links the delivery ahead while it waits, and the newer delivery once superseded', async () => {
    const conn = await hub.call('POST', '/connections', {
      provider: 'jira', name: 'Jira', config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    for (const [event, extra] of [['incident.created', { retryPolicy: { scheduleMs: [3_600_000] } }], ['incident.updated', { coalesceFollowUps: true }], ['incident.resolved', {}]] as const) {
      const res = await hub.call('POST', '/subscriptions', {
        name: `jira ${event}`, provider: 'jira', connectionId: conn.body.id, event, config: { projectKey: 'OPS', issueTypeId: '10001' }, ...extra,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const ingest = async (event: string) => {
      const res = await hub.call('POST', '/ingest', { event, payload: { incidentId: 'inc-ui', title: 'Outage inc-ui', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.deliveries[0].id as string;
    };
    const creator = await ingest('incident.created');
    const update = await ingest('incident.updated');
    const resolve = await ingest('incident.resolved');
    await waitFor(async () => (await hub.call('GET', `/deliveries/${update}`)).body.waitingFor === creator, 'the update to wait for the creator');

    // sign in (the token field has the focus) and open the waiting update's page
    await page.goto(`${hub.baseUrl}/ui/`);
    await page.locator('#token').fill(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${hub.baseUrl}/ui/deliveries/${update}`);
    const waiting = page.getByTestId('waiting-for');
    await waiting.waitFor();
    assert.match(await waiting.textContent() ?? '', new RegExp(`${creator}.*earlier in its lane`));
    assert.equal(await page.locator('.page-head .badge').textContent(), 'pending');

    // the creator is sent at once (an operator's retry ends its hour-long wait); the update is superseded by the resolve
    assert.equal((await hub.call('POST', `/deliveries/${creator}/retry`)).status, 202);
    await waitFor(async () => (await hub.call('GET', `/deliveries/${resolve}`)).body.status === 'success', 'the resolve to be sent');
    const superseded = page.getByTestId('superseded-by');
    await superseded.waitFor(); // live update: no reload
    assert.equal(await page.locator('.page-head .badge').textContent(), 'superseded');
    assert.equal(await waiting.count(), 0, 'no longer waiting');
    await superseded.getByRole('link').click();
    await page.getByRole('heading', { name: `Delivery ${resolve}` }).waitFor();
  });
});
