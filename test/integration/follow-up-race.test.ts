import assert from 'node:assert/strict';
import { jiraProvider } from '../../providers/jira';
import { JiraFake, plainText, type FakeIssue } from '../fakes/jira';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/**
 * A follow-up racing the delivery that creates its external record (docs/DESIGN.md decision 7), shown with Jira:
 * the follow-up waits for the creator instead of racing it into a second issue, and takes over when the
 * creator fails for good.
 */
describe('follow-up racing its creating delivery (Jira, real pipeline)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let fake: JiraFake;
  let connectionId: string;

  before(async () => {
    hub = await Hub.start('follow_up_race', {}, [jiraProvider]);
    fake = await new JiraFake().start();
    const res = await hub.call('POST', '/connections', {
      provider: 'jira',
      name: 'Jira',
      config: { flavor: 'cloud', baseUrl: fake.url, email: fake.email, apiToken: fake.apiToken },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    connectionId = res.body.id;
  });
  after(async () => {
    await hub?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    fake.script.length = 0;
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  async function subscribe(event: string, scheduleMs: number[]) {
    const res = await hub.call('POST', '/subscriptions', {
      name: `jira ${event}`,
      provider: 'jira',
      connectionId,
      event,
      config: { projectKey: 'OPS', issueTypeId: '10001' },
      retryPolicy: { scheduleMs },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  async function ingest(event: string, incidentId: string, payload: Record<string, unknown> = {}): Promise<string> {
    const res = await hub.call(
      'POST',
      '/ingest',
      { event, id: `${event}:${incidentId}`, payload: { incidentId, title: `Outage ${incidentId}`, severity: 'major', ...payload } },
      INGEST_TOKEN,
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.deliveries[0].id;
  }

  const delivery = async (id: string) => (await hub.call('GET', `/deliveries/${id}`)).body;

  async function settled(id: string, status: string) {
    return waitFor(async () => {
      const d = await delivery(id);
      return d.status === status ? d : undefined;
    }, `delivery ${id} to be ${status}`, 40_000);
  }

  const issuesOf = (incidentId: string): FakeIssue[] => [...fake.issues.values()].filter((i) => i.fields.summary.includes(`Outage ${incidentId}`));
  const createRequests = (incidentId: string) => fake.at('POST', /^issue$/).filter((r) => r.json?.fields?.summary?.includes(`Outage ${incidentId}`));

  it('makes the follow-up wait for a creator that is retrying, then comment on the one issue it made', async () => {
    await subscribe('incident.created', [1500, 1500, 1500]);
    await subscribe('incident.updated', [200, 200, 200]);
    fake.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 2);

    const creatorId = await ingest('incident.created', 'inc-race');
    await settled(creatorId, 'retrying');
    const followerId = await ingest('incident.updated', 'inc-race', { updateMessage: 'Mitigation deployed.' });
    assert.equal((await delivery(creatorId)).status, 'retrying', 'the follow-up arrived while the creator was still retrying');

    const creator = await settled(creatorId, 'success');
    const follower = await settled(followerId, 'success');

    const issues = issuesOf('inc-race');
    assert.equal(issues.length, 1, 'exactly one issue');
    const [issue] = issues;
    assert.equal(creator.externalId, issue.key);
    assert.equal(follower.externalId, issue.key, 'the follow-up updated the creator\'s issue');
    assert.deepEqual(createRequests('inc-race').map((r) => r.json.fields.description.content[0].content[0].text), [
      'Incident created',
      'Incident created',
      'Incident created',
    ], 'every create request came from the creator: two 503s and the success');
    assert.equal(issue.comments.length, 1);
    assert.match(plainText(issue.comments[0].body), /^Incident updated · Severity: major\n\nMitigation deployed\./);

    // nothing of the follow-up reached Jira before the issue existed; waiting is not an attempt
    const touching = fake.requests.filter((r) => r.apiPath.startsWith(`issue/${issue.key}`));
    assert.ok(touching.length > 0 && touching.every((r) => r.at >= issue.createdAt));
    assert.equal(follower.attempts, 1);
    assert.equal(follower.attemptLog.length, 1);
    assert.ok(Date.parse(follower.attemptLog[0].startedAt) >= issue.createdAt - 5, 'first attempt after the issue existed');
    assert.deepEqual(creator.attemptLog.map((a: { httpStatus: number }) => a.httpStatus), [503, 503, 201]);
  });

  it('lets the waiting follow-up create the issue itself when the creator fails for good', async () => {
    await subscribe('incident.created', [1500, 1500, 1500]);
    await subscribe('incident.updated', [200, 200, 200]);
    fake.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } });
    fake.failNext('POST', /^issue$/, { status: 400, body: { errorMessages: [], errors: { components: 'Component/s is required.' } } });

    const creatorId = await ingest('incident.created', 'inc-takeover');
    await settled(creatorId, 'retrying');
    const followerId = await ingest('incident.updated', 'inc-takeover', { updateMessage: 'Still down.' });
    assert.equal((await delivery(creatorId)).status, 'retrying', 'the follow-up arrived while the creator was still retrying');

    const creator = await settled(creatorId, 'failed');
    const follower = await settled(followerId, 'success');
    assert.match(creator.error, /components: Component\/s is required\./);

    const issues = issuesOf('inc-takeover');
    assert.equal(issues.length, 1, 'exactly one issue');
    assert.equal(follower.externalId, issues[0].key);
    assert.equal(issues[0].comments.length, 0, 'the follow-up made the issue rather than commenting');
    assert.match(plainText(issues[0].fields.description), /^Incident updated · Severity: major\n\nStill down\./);
    assert.equal(createRequests('inc-takeover').length, 3, '503 and 400 for the creator, then the follow-up\'s create');
    assert.equal(follower.attempts, 1);

    const [record] = await hub.dataSource.query(`SELECT external_id, creating_delivery_id FROM external_records WHERE subject = 'incident:inc-takeover'`);
    assert.deepEqual(record, { external_id: issues[0].key, creating_delivery_id: followerId });
  });
});
