import assert from 'node:assert/strict';
import { createBuiltinRegistry } from '../../providers';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { emailConfigSchema, emailConnectionSchema, emailProvider, emailTarget } from '../../providers/email';
import { classifySmtpError } from '../../providers/email/classify';
import { composeMail, messageIdFor } from '../../providers/email/message';
import type { DeliveryEvent } from '../../providers/types';
import { FakeSmtp } from '../fakes/smtp';

const EVENT: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-a'],
  payload: { incidentId: 'inc_1', title: 'Checkout\r\nBcc: evil@example.com', severity: 'major', status: 'investigating' },
  subject: 'inc_1',
  resolves: false,
};
const ctx = (extra: Record<string, unknown> = {}) => ({ deliveryId: 'dlv_1', event: EVENT, subscription: { id: 'sub_1', name: 'S' }, test: false, ...extra });
const connection = emailConnectionSchema.parse({ host: 'smtp.example.com', from: 'status@example.com', username: 'u', password: 'pw-secret-1' });

describe('email provider: config, composition, classification, address policy', () => {
  it('defaults to port 587 with required STARTTLS and marks the password as a secret bound to the host', () => {
    assert.equal(connection.port, 587);
    assert.equal(connection.security, 'starttls');
    const registered = createBuiltinRegistry().get('email')!;
    assert.deepEqual(registered.connectionSecretPaths, ['password']);
    assert.deepEqual(registered.connectionSecretBindings, { password: ['host'] });
    const bad = emailConnectionSchema.safeParse({ host: 'smtp example', from: 'nope' });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), ['from', 'host']);
    assert.equal(emailConnectionSchema.safeParse({ host: 'smtp.example.com', from: 'a@example.com', password: 'x' }).success, false, 'a password needs a user name');
    assert.equal(emailConfigSchema.safeParse({ to: [] }).success, false);
    const plaintext = emailConnectionSchema.safeParse({ host: 'smtp.example.com', from: 'a@example.com', security: 'none', username: 'u', password: 'p' });
    assert.deepEqual(plaintext.error?.issues.map((i) => i.path.join('.')), ['security'], 'a password never travels without TLS');
  });

  it('keeps the subject on one line, so a payload cannot add headers', () => {
    const mail = composeMail(ctx(), emailConfigSchema.parse({ to: ['a@example.com'] }), connection);
    assert.equal(mail.subject, 'Checkout Bcc: evil@example.com');
    assert.doesNotMatch(mail.subject, /[\r\n]/);
  });

  it('renders templates: HTML-escaped values in the HTML part, as-is values in the text part', () => {
    const config = emailConfigSchema.parse({
      to: ['a@example.com'],
      subjectTemplate: '{{payload.severity}}: {{payload.status}}',
      htmlTemplate: '<p>{{payload.title}}</p>',
      textTemplate: 'T={{payload.status}} <{{payload.severity}}>',
    });
    const mail = composeMail(ctx({ event: { ...EVENT, payload: { ...EVENT.payload, title: '<b>x</b>' } } }), config, connection);
    assert.equal(mail.subject, 'major: investigating');
    assert.equal(mail.html, '<p>&lt;b&gt;x&lt;/b&gt;</p>');
    assert.equal(mail.text, 'T=investigating <major>');
  });

  it('gives a delivery one Message-ID on every retry and threads follow-ups under the first mail', () => {
    assert.equal(messageIdFor('dlv_1', 'status@Example.com'), messageIdFor('dlv_1', 'status@example.com'));
    assert.match(messageIdFor('dlv_1', 'status@example.com'), /^<dlv_1\.[0-9a-f]{8}@example\.com>$/);
    const config = emailConfigSchema.parse({ to: ['a@example.com'] });
    const reply = composeMail(ctx({ deliveryId: 'dlv_2', followUp: { externalId: '<dlv_1.abc@example.com>' } }), config, connection);
    assert.equal(reply.inReplyTo, '<dlv_1.abc@example.com>');
    assert.match(reply.subject, /^Re: /);
    assert.notEqual(reply.messageId, '<dlv_1.abc@example.com>');
  });

  it('names the thread by server, sender and recipients, whatever their order or case', () => {
    const a = emailTarget({ to: ['B@example.com', 'a@example.com'] }, connection);
    const b = emailTarget({ to: ['a@example.com', 'b@example.com'] }, connection);
    assert.equal(a, b);
    assert.match(a, /^email:smtp\.example\.com:[0-9a-f]{32}$/);
    assert.notEqual(emailTarget({ to: ['c@example.com'] }, connection), a);
  });

  it('classifies SMTP replies and transport errors', () => {
    const secrets = ['pw-secret-1'];
    const c = (err: object) => classifySmtpError(err, 'smtp.example.com', secrets);
    assert.equal(c({ code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 try later' }).kind, 'retryable');
    assert.equal(c({ code: 'EENVELOPE', responseCode: 452, response: '452 4.2.2 mailbox full' }).kind, 'retryable');
    const unavailable = c({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 mailbox unavailable' });
    assert.deepEqual([unavailable.kind, unavailable.kind === 'permanent' && unavailable.errorCode, 'pauseReason' in unavailable], ['permanent', 'mailbox_unavailable', false]);
    assert.equal(c({ code: 'EMESSAGE', responseCode: 554, response: '554 rejected' }).kind, 'permanent');
    const auth = c({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 bad credentials for pw-secret-1' });
    assert.ok(auth.kind === 'permanent' && auth.pauseReason, JSON.stringify(auth));
    assert.ok(!JSON.stringify(auth).includes('pw-secret-1'));
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS']) assert.equal(c({ code, message: 'boom' }).kind, 'retryable', code);
    assert.equal(c({ code: 'ETLS', message: 'self-signed certificate' }).kind, 'permanent');
  });

  it('refuses a loopback SMTP host that is not allow-listed, without connecting to it', async () => {
    const smtp = await new FakeSmtp().start();
    try {
      const noAllowList = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 1024, allowedNetworks: [] });
      const local = emailConnectionSchema.parse({ host: '127.0.0.1', port: smtp.port, security: 'none', from: 'status@example.com' });
      const outcome = await emailProvider.deliver({
        ...ctx(),
        attempt: 1,
        config: emailConfigSchema.parse({ to: ['a@example.com'] }),
        connection: local,
        redelivery: false,
        http: noAllowList,
      });
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'ssrf_blocked');
      const byName = await emailProvider.deliver({
        ...ctx(),
        attempt: 1,
        config: emailConfigSchema.parse({ to: ['a@example.com'] }),
        connection: { ...local, host: 'localhost' },
        redelivery: false,
        http: noAllowList,
      });
      assert.equal(byName.kind === 'permanent' && byName.errorCode, 'ssrf_blocked');
      assert.equal(smtp.connections, 0);
      // the same server, allow-listed, takes the mail
      const allowed = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 1024, allowedNetworks: ['127.0.0.0/8'] });
      const sent = await emailProvider.deliver({ ...ctx(), attempt: 1, config: emailConfigSchema.parse({ to: ['a@example.com'] }), connection: local, redelivery: false, http: allowed });
      assert.equal(sent.kind, 'success', JSON.stringify(sent));
      assert.equal(smtp.mails.length, 1);
    } finally {
      await smtp.stop();
    }
  });
});
