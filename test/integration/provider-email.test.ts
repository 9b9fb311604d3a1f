import assert from 'node:assert/strict';
import net from 'node:net';
import { FakeSmtp } from '../fakes/smtp';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';

const USER = 'status@example.com';
const PASSWORD = 'smtp-pa55word-9f3c1e77';

describe('email provider through the pipeline (real Temporal, PostgreSQL, local SMTP server)', function () {
  this.timeout(120_000);
  const suite = pipelineSuite({
    database: 'provider_email',
    fake: () => new FakeSmtp({ user: USER, password: PASSWORD, requireTlsForAuth: true }).start(),
  });
  let hub: Hub;
  let smtp: FakeSmtp;
  let connectionId: string;

  before(async () => {
    ({ hub, fake: smtp } = suite);
    connectionId = await connect({});
  });
  afterEach(() => {
    smtp.unknownMailboxes.clear();
  });

  async function connect(overrides: Record<string, unknown>): Promise<string> {
    const res = await hub.call('POST', '/connections', {
      provider: 'email',
      name: `SMTP ${Object.keys(overrides).join(',') || 'main'}`,
      config: {
        host: 'localhost',
        port: smtp.port,
        security: 'starttls',
        username: USER,
        password: PASSWORD,
        from: 'status@example.com',
        fromName: 'Status page',
        caCertificate: smtp.caCertificate,
        ...overrides,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  const subscribe = (event = 'incident.created', config: Record<string, unknown> = {}, connection = connectionId) => suite.subscribe({
    name: `mail ${event}`,
    provider: 'email',
    connectionId: connection,
    event,
    config: { to: ['oncall@example.com'], ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, payload: Record<string, unknown>) => suite.ingest(event, undefined, payload);
  const settled = (id: string, status = 'success') => suite.settled(id, status, 40_000);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId,
    title: `Checkout down ${incidentId}`,
    severity: 'critical',
    status: 'investigating',
    description: 'Error rate <b>above</b> 20%.',
    systemIds: ['sys-checkout'],
    url: `https://status.example.com/incidents/${incidentId}`,
    ...extra,
  });

  it('tests the connection over STARTTLS with AUTH and never shows the password', async () => {
    const test = await hub.call('POST', `/connections/${connectionId}/test`);
    assert.deepEqual(test.body, { ok: true, message: `Connected to localhost:${smtp.port} as ${USER}` });
    const conn = await hub.call('GET', `/connections/${connectionId}`);
    assert.deepEqual(conn.body.config.password, { set: true });
    const wrong = await connect({ password: 'not-the-password-123' });
    const failed = await hub.call('POST', `/connections/${wrong}/test`);
    assert.equal(failed.body.ok, false);
    assert.match(failed.body.message, /^SMTP 535 from localhost: /);
    assert.ok(!JSON.stringify(failed.body).includes('not-the-password-123'));
  });

  it('refuses a connection with a bad host or sender, and a subscription without recipients, naming the fields', async () => {
    const bad = await hub.call('POST', '/connections', { provider: 'email', name: 'bad', config: { host: 'smtp example', from: 'nobody' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { path: string }) => e.path).sort(), ['config.from', 'config.host']);
    const none = await hub.call('POST', '/subscriptions', { name: 'x', provider: 'email', connectionId, event: 'incident.created', config: { to: [] } });
    assert.equal(none.status, 400);
    assert.deepEqual(none.body.errors.map((e: { path: string }) => e.path), ['config.to']);
  });

  it('sends HTML and text parts with the templated subject, over TLS, and records the Message-ID', async () => {
    await subscribe('incident.created', { subjectTemplate: '[{{payload.severity}}] {{payload.title}}', cc: ['lead@example.com'] });
    const d = await settled(await ingest('incident.created', incident('inc-mail')));
    const mail = smtp.mails.at(-1)!;
    assert.equal(mail.secure, true, 'STARTTLS was used');
    assert.equal(mail.user, USER);
    assert.deepEqual(mail.to, ['oncall@example.com', 'lead@example.com']);
    assert.equal(mail.headers.get('subject'), '[critical] Checkout down inc-mail');
    assert.equal(mail.headers.get('from'), 'Status page <status@example.com>');
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.match(mail.headers.get('content-type')!, /^multipart\/alternative/);
    assert.match(mail.text!, /^\[CRITICAL\] Checkout down inc-mail\n\nEvent: Incident created\nSeverity: critical\nStatus: investigating/);
    assert.match(mail.text!, /Error rate <b>above<\/b> 20%\.\n\nView details: https:\/\/status\.example\.com\/incidents\/inc-mail$/);
    assert.match(mail.html!, /<h2[^>]*>\[CRITICAL\] Checkout down inc-mail<\/h2>/);
    assert.match(mail.html!, /Error rate &lt;b&gt;above&lt;\/b&gt; 20%\./);
    assert.match(mail.html!, /<a href="https:\/\/status\.example\.com\/incidents\/inc-mail">View details<\/a>/);
    assert.equal(d.externalId, mail.headers.get('message-id'));
    assert.match(d.externalId, /^<[^@]+@example\.com>$/);
  });

  it('sends updates and the resolution as replies in the first mail\'s thread', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    await subscribe('incident.resolved');
    const created = await settled(await ingest('incident.created', incident('inc-thread')));
    const root = created.externalId as string;
    const updated = await settled(await ingest('incident.updated', incident('inc-thread', { status: 'identified', updateMessage: 'Rolled back.' })));
    const resolved = await settled(await ingest('incident.resolved', incident('inc-thread', { status: 'resolved' })));
    assert.equal(updated.externalId, root);
    assert.equal(resolved.externalId, root);
    const [first, second, third] = smtp.mails.slice(-3);
    assert.equal(first.headers.get('message-id'), root);
    assert.equal(first.headers.get('in-reply-to'), undefined);
    for (const reply of [second, third]) {
      assert.equal(reply.headers.get('in-reply-to'), root);
      assert.equal(reply.headers.get('references'), root);
      assert.equal(reply.headers.get('subject'), 'Re: Checkout down inc-thread');
      assert.notEqual(reply.headers.get('message-id'), root);
    }
    assert.match(third.text!, /^Resolved: Checkout down inc-thread/);
  });

  it('retries an SMTP 451 and then delivers', async () => {
    await subscribe();
    smtp.script.push({ code: 451, message: '4.3.0 Temporary local problem, try again' });
    const id = await ingest('incident.created', incident('inc-451'));
    const d = await settled(id);
    assert.equal(d.attempts, 2);
    assert.equal(d.attemptLog[0].outcome, 'retryable');
    assert.match(d.attemptLog[0].error, /^SMTP 451 from localhost: .*Temporary local problem/);
  });

  it('fails a 554 and a 550 unknown mailbox at once, without pausing', async () => {
    const sub = await subscribe();
    smtp.script.push({ code: 554, message: '5.7.1 Message rejected as spam' });
    const spam = await settled(await ingest('incident.created', incident('inc-554')), 'failed');
    assert.equal(spam.attempts, 1);
    assert.equal(spam.attemptLog[0].errorCode, 'smtp_554');
    smtp.unknownMailboxes.add('oncall@example.com');
    const gone = await settled(await ingest('incident.created', incident('inc-550')), 'failed');
    assert.equal(gone.attempts, 1);
    assert.equal(gone.attemptLog[0].errorCode, 'mailbox_unavailable');
    assert.match(gone.attemptLog[0].error, /^SMTP 550 from localhost: .*mailbox unavailable/);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
  });

  it('retries a refused connection until the schedule is used up', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const nowhere = await connect({ port: closed });
    await subscribe('incident.created', {}, nowhere);
    const d = await settled(await ingest('incident.created', incident('inc-refused')), 'failed');
    assert.equal(d.attempts, 4);
    assert.ok(d.attemptLog.every((a: { errorCode: string }) => a.errorCode === 'connection_failed'), JSON.stringify(d.attemptLog));
  });

  it('pauses on rejected credentials, and the password never reaches the database, responses or logs', async () => {
    const wrong = await connect({ password: 'wrong-pa55word-42' });
    const sub = await subscribe('incident.created', {}, wrong);
    const d = await settled(await ingest('incident.created', incident('inc-auth')), 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].errorCode, 'smtp_auth_failed');
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.match(s.body.pausedReason, /rejected the user name or password/);
    const dump =
      JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify((await hub.call('GET', '/connections')).body) +
      JSON.stringify(d) +
      hub.logs.join('\n');
    for (const secret of [PASSWORD, 'wrong-pa55word-42', Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64')]) {
      assert.ok(!dump.includes(secret), `leaked ${secret}`);
    }
  });
});
