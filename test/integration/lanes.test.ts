import assert from 'node:assert/strict';
import { JiraFake, plainText } from '../fakes/jira';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/**
 * Ordered lanes as an admin sees them (docs/DESIGN.md decision 12), with Jira (no coalescing): a follow-up
 * shows what it waits for, a cancel of the delivery ahead hands the lane on, and so does deleting the
 * subscription of the delivery ahead.
 */
describe('ordered lanes through the API (Jira, real pipeline)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let jira: JiraFake;
  let connectionId: string;

  before(async () => {
    hub = await Hub.start('lanes_api');
    jira = await new JiraFake().start();
    const res = await hub.call('POST', '/connections', {
      provider: 'jira', name: 'Jira', config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    connectionId = res.body.id;
  });
  after(async () => {
    await hub?.close();
    await jira?.stop();
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  async function subscribe(event: string, scheduleMs: number[]): Promise<string> {
    const res = await hub.call('POST', '/subscriptions', {
      name: `jira ${event}`, provider: 'jira', connectionId, event, config: { projectKey: 'OPS', issueTypeId: '10001' }, retryPolicy: { scheduleMs },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }
  async function ingest(event: string, incidentId: string, payload: Record<string, unknown> = {}): Promise<string> {
    const res = await hub.call('POST', '/ingest', { event, payload: { incidentId, title: `Outage ${incidentId}`, severity: 'major', ...payload } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.deliveries[0].id;
  }
  const delivery = async (id: string) => (await hub.call('GET', `/deliveries/${id}`)).body;
  const settled = (id: string, status: string, ms = 30_000) =>
    waitFor(async () => ((await delivery(id)).status === status ? delivery(id) : undefined), `delivery ${id} to be ${status}`, ms);

  async function creatorRetryingFollowerWaiting(incidentId: string) {
    const createdSub = await subscribe('incident.created', [3_600_000]);
    await subscribe('incident.updated', [200]);
    jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const creator = await ingest('incident.created', incidentId);
    const follower = await ingest('incident.updated', incidentId, { updateMessage: 'Mitigated.' });
    await settled(creator, 'retrying');
    const waiting = await waitFor(async () => {
      const d = await delivery(follower);
      return d.waitingFor ? d : undefined;
    }, 'the follow-up to show what it waits for');
    return { createdSub, creator, follower, waiting };
  }

  it('shows a waiting follow-up as pending with waitingFor and no attempt, then sends it after the delivery ahead', async () => {
    const { creator, follower, waiting } = await creatorRetryingFollowerWaiting('inc-show');
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.waitingFor, creator);
    assert.equal(waiting.attempts, 0);
    assert.deepEqual(waiting.attemptLog, []);
    // an operator's retry of the creator ends its hour-long wait; the follow-up then goes
    assert.equal((await hub.call('POST', `/deliveries/${creator}/retry`)).status, 202);
    await settled(creator, 'success');
    const done = await settled(follower, 'success');
    assert.equal(done.waitingFor, null);
    assert.equal(done.attempts, 1);
    const issue = [...jira.issues.values()].find((i) => i.fields.summary.includes('Outage inc-show'))!;
    assert.match(plainText(issue.comments[0].body), /Mitigated\./);
  });

  it('a cancel of the delivery ahead hands the lane on: the follow-up creates the record itself', async () => {
    const { creator, follower } = await creatorRetryingFollowerWaiting('inc-cancel');
    const t0 = Date.now();
    assert.equal((await hub.call('POST', `/deliveries/${creator}/cancel`)).status, 202);
    const done = await settled(follower, 'success');
    // the cancel signals the waiter: it does not wait for its own 5 s re-check
    assert.ok(Date.now() - t0 < 4_500, `handed on after ${Date.now() - t0} ms`);
    assert.equal((await delivery(creator)).status, 'failed');
    const issues = [...jira.issues.values()].filter((i) => i.fields.summary.includes('Outage inc-cancel'));
    assert.equal(issues.length, 1);
    assert.equal(done.externalId, issues[0].key);
  });

  it('deleting the subscription of the delivery ahead ends it and hands the lane on', async () => {
    const { createdSub, creator, follower } = await creatorRetryingFollowerWaiting('inc-delete');
    const t0 = Date.now();
    assert.equal((await hub.call('DELETE', `/subscriptions/${createdSub}`)).status, 204);
    const ended = await delivery(creator);
    assert.equal(ended.status, 'failed');
    assert.match(ended.error, /^The subscription sub_\w+ was deleted; no further retries$/);
    await settled(follower, 'success');
    assert.ok(Date.now() - t0 < 4_500, `handed on after ${Date.now() - t0} ms`);
    const creates = jira.at('POST', /^issue$/).filter((r) => r.json?.fields?.summary?.includes('Outage inc-delete'));
    assert.equal(creates.length, 2, 'the creator\'s 503, then the follow-up\'s create; nothing more from the deleted subscription');
  });

  it('events of one subject posted at the same moment (not awaited) are sent in the order ingest accepted them', async () => {
    await subscribe('incident.created', [200]);
    await subscribe('incident.updated', [200]);
    const created = await ingest('incident.created', 'inc-race');
    await settled(created, 'success');
    // five updates fired together: ingest takes them in some order under the subject's lock; that order is the lane's
    const ids = await Promise.all([1, 2, 3, 4, 5].map((n) => ingest('incident.updated', 'inc-race', { updateMessage: `Update ${n}.` })));
    for (const id of ids) await settled(id, 'success');
    const rows: { id: string; lane_seq: string }[] = await hub.dataSource.query('SELECT id, lane_seq FROM deliveries WHERE id = ANY($1) ORDER BY lane_seq', [ids]);
    const acceptedOrder = rows.map((r) => `Update ${ids.indexOf(r.id) + 1}.`);
    const issue = [...jira.issues.values()].find((i) => i.fields.summary.includes('Outage inc-race'))!;
    const commented = issue.comments.map((c) => /Update \d\./.exec(plainText(c.body))?.[0]);
    // with ORDERED_FOLLOW_UPS=false this fails: the comments land in the order the attempts happened to run
    assert.deepEqual(commented, acceptedOrder, 'comments in lane order (Jira collapses nothing)');
  });
});
