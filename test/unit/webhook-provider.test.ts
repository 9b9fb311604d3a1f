import assert from 'node:assert/strict';
import { parseDeliveryInput } from '../../providers/input';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import type { DeliveryContext, DeliveryOutcome, EventTypeInfo } from '../../providers/types';
import { webhookConfigSchema, webhookProvider, type WebhookConfig } from '../../providers/webhook';
import { WebhookSigner, generateWebhookSecret } from '../../providers/webhook/signing';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  origin: string;
  requests: Received[];
  /** How the next requests are answered; the default is 200 `{"ok":true}`. */
  respond: (res: http.ServerResponse) => void;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that records exactly what came over the wire. */
async function startReceiver(): Promise<Receiver> {
  const server = http.createServer();
  const receiver: Receiver = {
    origin: '',
    requests: [],
    respond: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      receiver.respond(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

const http127 = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: ['127.0.0.0/8'] });

const EVENT = {
  id: 'evt_123',
  type: 'incident.created',
  displayName: 'Incident created',
  resolves: false,
  occurredAt: '2025-03-01T10:00:00.000Z',
  systemIds: ['sys-a', 'sys-b'],
  payload: { incidentId: 'inc-9', title: 'Database "primary" down — ünïcode\nsecond line', severity: 'major', count: 3 },
};

function context(config: Record<string, unknown>, overrides: Partial<DeliveryContext<WebhookConfig>> = {}): DeliveryContext<WebhookConfig> {
  return {
    deliveryId: 'dlv_01HZX',
    attempt: 1,
    event: EVENT,
    subscription: { id: 'sub_1', name: 'Ops hook' },
    config: webhookConfigSchema.parse(config),
    test: false,
    redelivery: false,
    http: http127,
    ...overrides,
  };
}

const only = (receiver: Receiver): Received => {
  assert.equal(receiver.requests.length, 1, 'expected exactly one request');
  return receiver.requests[0];
};

/** The Standard Webhooks reference computation, written out independently of WebhookSigner. */
function referenceSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe('webhook provider', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  describe('what goes over the wire', () => {
    it('POSTs the Standard Webhooks envelope as JSON to the rendered URL with webhook-id and webhook-timestamp', async () => {
      const before = Math.floor(Date.now() / 1000);
      const outcome = await webhookProvider.deliver(context({ url: `${receiver.origin}/hooks/{{payload.incidentId}}?src=hub` }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 200 });
      const req = only(receiver);
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/hooks/inc-9?src=hub');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.equal(req.headers['webhook-id'], 'dlv_01HZX');
      const timestamp = Number(req.headers['webhook-timestamp']);
      assert.ok(timestamp >= before && timestamp <= Math.floor(Date.now() / 1000), `webhook-timestamp ${timestamp}`);
      assert.equal(req.headers['webhook-signature'], undefined, 'no signature without signing secrets');
      assert.equal(req.headers.authorization, undefined);
      assert.deepEqual(JSON.parse(req.body), {
        id: 'dlv_01HZX',
        type: 'incident.created',
        timestamp: '2025-03-01T10:00:00.000Z',
        eventId: 'evt_123',
        systemIds: ['sys-a', 'sys-b'],
        subscription: { id: 'sub_1', name: 'Ops hook' },
        data: EVENT.payload,
      });
    });

    it('URL-encodes template values so they cannot change the path or query', async () => {
      const ctx = context({ url: `${receiver.origin}/items/{{payload.path}}?q={{payload.q}}` });
      ctx.event = { ...EVENT, payload: { path: '../admin?x=1#', q: 'a&b=c d' } };
      await webhookProvider.deliver(ctx);
      const url = new URL(only(receiver).url, receiver.origin);
      assert.equal(url.pathname, '/items/..%2Fadmin%3Fx%3D1%23');
      assert.deepEqual([...url.searchParams], [['q', 'a&b=c d']]);
    });

    it('keeps webhook-id equal to the delivery id across attempts, with a signature per attempt that verifies', async () => {
      const secret = generateWebhookSecret();
      const config = { url: `${receiver.origin}/in`, signing: { secrets: [secret] } };
      assert.equal((await webhookProvider.deliver(context(config, { attempt: 1 }))).kind, 'success');
      assert.equal((await webhookProvider.deliver(context(config, { attempt: 2 }))).kind, 'success');
      assert.equal(receiver.requests.length, 2);
      for (const req of receiver.requests) {
        assert.equal(req.headers['webhook-id'], 'dlv_01HZX');
        const timestamp = String(req.headers['webhook-timestamp']);
        assert.equal(req.headers['webhook-signature'], referenceSignature(secret, 'dlv_01HZX', timestamp, req.body));
        new WebhookSigner(secret).verify(req.body, req.headers as Record<string, string>);
      }
    });

    it('sends one signature per secret during a rotation, each verifying with its own secret', async () => {
      const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
      await webhookProvider.deliver(context({ url: receiver.origin, signing: { secrets: [oldSecret, newSecret] } }));
      const req = only(receiver);
      const timestamp = String(req.headers['webhook-timestamp']);
      assert.equal(
        req.headers['webhook-signature'],
        `${referenceSignature(oldSecret, 'dlv_01HZX', timestamp, req.body)} ${referenceSignature(newSecret, 'dlv_01HZX', timestamp, req.body)}`,
      );
      new WebhookSigner(oldSecret).verify(req.body, req.headers as Record<string, string>);
      new WebhookSigner(newSecret).verify(req.body, req.headers as Record<string, string>);
    });

    it('signs with old and new while the overlap lasts, with the newest alone once overlapUntil has passed', async () => {
      const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
      const future = new Date(Date.now() + 3_600_000).toISOString();
      await webhookProvider.deliver(context({ url: receiver.origin, signing: { secrets: [oldSecret, newSecret], overlapUntil: future } }));
      const during = only(receiver);
      assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
      new WebhookSigner(oldSecret).verify(during.body, during.headers as Record<string, string>);
      receiver.requests.length = 0;
      const past = new Date(Date.now() - 1_000).toISOString();
      await webhookProvider.deliver(context({ url: receiver.origin, signing: { secrets: [oldSecret, newSecret], overlapUntil: past } }));
      const after = only(receiver);
      const timestamp = String(after.headers['webhook-timestamp']);
      assert.equal(after.headers['webhook-signature'], referenceSignature(newSecret, 'dlv_01HZX', timestamp, after.body));
      assert.throws(() => new WebhookSigner(oldSecret).verify(after.body, after.headers as Record<string, string>));
    });

    it('sends a bearer token as Authorization: Bearer', async () => {
      await webhookProvider.deliver(context({ url: receiver.origin, auth: { type: 'bearer', token: 'tok-123' } }));
      assert.equal(only(receiver).headers.authorization, 'Bearer tok-123');
    });

    it('sends basic credentials as Authorization: Basic base64(user:password)', async () => {
      await webhookProvider.deliver(context({ url: receiver.origin, auth: { type: 'basic', username: 'hub', password: 'pä ss' } }));
      const header = String(only(receiver).headers.authorization);
      assert.match(header, /^Basic /);
      assert.equal(Buffer.from(header.slice(6), 'base64').toString('utf8'), 'hub:pä ss');
    });

    it('sends a header-auth secret under its own header name', async () => {
      await webhookProvider.deliver(context({ url: receiver.origin, auth: { type: 'header', name: 'X-Api-Key', value: 'k-42' } }));
      const req = only(receiver);
      assert.equal(req.headers['x-api-key'], 'k-42');
      assert.equal(req.headers.authorization, undefined);
    });

    it('sends templated custom headers, with line breaks in values flattened so no header can be injected', async () => {
      const ctx = context({ url: receiver.origin, headers: { 'X-Event': '{{event.type}}/{{payload.severity}}', 'X-Note': '{{payload.note}}' } });
      ctx.event = { ...EVENT, payload: { severity: 'major', note: 'a\r\nX-Injected: yes' } };
      await webhookProvider.deliver(ctx);
      const req = only(receiver);
      assert.equal(req.headers['x-event'], 'incident.created/major');
      assert.equal(req.headers['x-note'], 'a X-Injected: yes');
      assert.equal(req.headers['x-injected'], undefined);
    });

    it('uses the configured method', async () => {
      await webhookProvider.deliver(context({ url: receiver.origin, method: 'PUT' }));
      assert.equal(only(receiver).method, 'PUT');
    });

    it('renders a JSON body template whose payload values with quotes and newlines stay inside their strings', async () => {
      const ctx = context({
        url: receiver.origin,
        bodyTemplate: '{"text": "{{payload.title}}", "note": "{{payload.note}}", "count": {{payload.count}}, "id": "{{deliveryId}}"}',
      });
      ctx.event = { ...EVENT, payload: { title: 'Say "hi"\nthen \\ leave', note: '", "admin": true, "x": "', count: 3 } };
      await webhookProvider.deliver(ctx);
      const body = JSON.parse(only(receiver).body);
      assert.deepEqual(body, { text: 'Say "hi"\nthen \\ leave', note: '", "admin": true, "x": "', count: 3, id: 'dlv_01HZX' });
    });

    it('embeds whole JSON values with triple braces, and null for a missing one', async () => {
      await webhookProvider.deliver(
        context({ url: receiver.origin, bodyTemplate: '{"incident": {{{payload}}}, "tags": {{{event.systemIds}}}, "none": {{{payload.nope}}}}' }),
      );
      assert.deepEqual(JSON.parse(only(receiver).body), { incident: EVENT.payload, tags: ['sys-a', 'sys-b'], none: null });
    });

    it('sends the default envelope as flattened form fields for contentType form', async () => {
      await webhookProvider.deliver(context({ url: receiver.origin, contentType: 'form' }));
      const req = only(receiver);
      assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
      const form = new URLSearchParams(req.body);
      assert.equal(form.get('id'), 'dlv_01HZX');
      assert.equal(form.get('type'), 'incident.created');
      assert.equal(form.get('systemIds.1'), 'sys-b');
      assert.equal(form.get('subscription.name'), 'Ops hook');
      assert.equal(form.get('data.title'), EVENT.payload.title);
      assert.equal(form.get('data.count'), '3');
    });

    it('form-encodes values in a form body template so they cannot add fields', async () => {
      const ctx = context({ url: receiver.origin, contentType: 'form', bodyTemplate: 'title={{payload.title}}&event={{event.id}}' });
      ctx.event = { ...EVENT, payload: { title: 'a&admin=1 b' } };
      await webhookProvider.deliver(ctx);
      assert.deepEqual([...new URLSearchParams(only(receiver).body)], [['title', 'a&admin=1 b'], ['event', 'evt_123']]);
    });
  });

  describe('outcomes', () => {
    it('treats 503 as retryable and passes Retry-After on', async () => {
      receiver.respond = (res) => res.writeHead(503, { 'retry-after': '7' }).end('busy');
      const outcome = await webhookProvider.deliver(context({ url: receiver.origin }));
      assert.equal(outcome.kind, 'retryable');
      assert.equal(outcome.httpStatus, 503);
      assert.equal(outcome.kind === 'retryable' && outcome.retryAfterMs, 7000);
    });

    it('treats 410 as permanent with a pause reason', async () => {
      receiver.respond = (res) => res.writeHead(410).end('gone');
      const outcome = await webhookProvider.deliver(context({ url: receiver.origin }));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.httpStatus, 410);
      assert.ok(outcome.kind === 'permanent' && outcome.pauseReason, 'pauseReason set');
    });

    it('treats a plain 4xx as permanent unless it is listed in extraRetryableStatuses', async () => {
      receiver.respond = (res) => res.writeHead(409).end('locked');
      assert.equal((await webhookProvider.deliver(context({ url: receiver.origin }))).kind, 'permanent');
      assert.equal((await webhookProvider.deliver(context({ url: receiver.origin, extraRetryableStatuses: [409] }))).kind, 'retryable');
    });

    it('keeps auth secrets out of the error even when the receiver echoes them back', async () => {
      receiver.respond = (res) => res.writeHead(401).end('rejected credentials s3cr3t-tok3n-value for this hook');
      const outcome = await webhookProvider.deliver(context({ url: receiver.origin, auth: { type: 'bearer', token: 's3cr3t-tok3n-value' } }));
      assert.equal(outcome.kind, 'permanent');
      assert.ok(outcome.kind === 'permanent' && outcome.error.includes('401'), 'error names the status');
      assert.ok(!JSON.stringify(outcome).includes('s3cr3t-tok3n-value'), JSON.stringify(outcome));
    });

    it('records the value at externalIdPath in the JSON response as externalId', async () => {
      receiver.respond = (res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"data":{"key":"OPS-17"}}');
      const outcome = await webhookProvider.deliver(context({ url: receiver.origin, externalIdPath: 'data.key' }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 201, externalId: 'OPS-17' });
    });

    it('succeeds without externalId when the response is not JSON or lacks the path', async () => {
      receiver.respond = (res) => res.writeHead(200).end('thanks');
      assert.deepEqual(await webhookProvider.deliver(context({ url: receiver.origin, externalIdPath: 'id' })), { kind: 'success', httpStatus: 200 });
      receiver.respond = (res) => res.writeHead(200).end('{"other":1}');
      assert.deepEqual(await webhookProvider.deliver(context({ url: receiver.origin, externalIdPath: 'id' })), { kind: 'success', httpStatus: 200 });
    });

    it('fails permanently without sending when the body template renders to invalid JSON', async () => {
      const outcome = await webhookProvider.deliver(context({ url: receiver.origin, bodyTemplate: '{"text": {{payload.title}}}' }));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'template_error');
      assert.match(outcome.kind === 'permanent' ? outcome.error : '', /not? .*valid JSON/);
      assert.equal(receiver.requests.length, 0);
    });

    it('fails permanently, naming only paths, when a stored config no longer parses', async () => {
      // the attempt activity parses the stored config once, before the provider is called
      const parsed = parseDeliveryInput(webhookProvider, { ...context({ url: receiver.origin }).config, auth: { type: 'bearer', token: 'line\nbreak-secret' } }, undefined);
      assert.ok(!parsed.ok);
      const outcome = parsed.outcome;
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'invalid_config');
      assert.ok(!JSON.stringify(outcome).includes('break-secret'));
      assert.equal(receiver.requests.length, 0);
    });

    it('treats a refused connection as retryable', async () => {
      const { origin } = receiver;
      await receiver.close();
      const outcome: DeliveryOutcome = await webhookProvider.deliver(context({ url: origin }));
      assert.equal(outcome.kind, 'retryable');
      receiver = await startReceiver(); // for afterEach
    });
  });

  describe('config schema', () => {
    const valid = { url: 'https://example.com/hook' };

    it('fills in the defaults', () => {
      assert.deepEqual(webhookConfigSchema.parse(valid), {
        url: 'https://example.com/hook',
        method: 'POST',
        contentType: 'json',
        auth: { type: 'none' },
        headers: {},
        timeoutMs: 10000,
      });
    });

    // [what, config, where the problem is reported]
    const rejected: Array<[string, Record<string, unknown>, string]> = [
      ['an unknown field such as urll', { urll: 'https://example.com', ...valid }, ''],
      ['an unknown field inside auth', { ...valid, auth: { type: 'bearer', token: 't', password: 'p' } }, 'auth'],
      ['an unknown auth type', { ...valid, auth: { type: 'oauth' } }, 'auth.type'],
      ['method GET', { ...valid, method: 'GET' }, 'method'],
      ['a non-http URL', { url: 'ftp://example.com/x' }, 'url'],
      ['a javascript: URL', { url: 'javascript:alert(1)' }, 'url'],
      ['a relative URL', { url: '/hooks/{{payload.id}}' }, 'url'],
      ['a URL that is only a template', { url: '{{payload.url}}' }, 'url'],
      ['an unclosed template tag', { url: 'https://example.com/{{payload.id' }, 'url'],
      ['a Host header', { ...valid, headers: { Host: 'evil.example' } }, 'headers.Host'],
      ['a Content-Length header', { ...valid, headers: { 'content-length': '1' } }, 'headers.content-length'],
      ['a webhook-signature header', { ...valid, headers: { 'Webhook-Signature': 'v1,x' } }, 'headers.Webhook-Signature'],
      ['an Authorization header next to bearer auth', { ...valid, auth: { type: 'bearer', token: 't' }, headers: { Authorization: 'x' } }, 'headers.Authorization'],
      ['header auth under a reserved name', { ...valid, auth: { type: 'header', name: 'webhook-id', value: 'x' } }, 'auth.name'],
      ['an invalid header name', { ...valid, headers: { 'X Bad': 'x' } }, 'headers.X Bad'],
      ['the same header twice in different case', { ...valid, headers: { 'X-A': '1', 'x-a': '2' } }, 'headers.x-a'],
      ['a secret with a line break', { ...valid, auth: { type: 'bearer', token: 'a\r\nb' } }, 'auth.token'],
      ['a timeout under 1 s', { ...valid, timeoutMs: 500 }, 'timeoutMs'],
      ['a timeout over 30 s', { ...valid, timeoutMs: 60000 }, 'timeoutMs'],
      ['a 5xx in extraRetryableStatuses', { ...valid, extraRetryableStatuses: [503] }, 'extraRetryableStatuses.0'],
      ['a signing secret without whsec_', { ...valid, signing: { secrets: ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] } }, 'signing.secrets.0'],
      ['signing without secrets', { ...valid, signing: { secrets: [] } }, 'signing.secrets'],
      ['a contentType other than json or form', { ...valid, contentType: 'xml' }, 'contentType'],
    ];
    for (const [what, config, path] of rejected) {
      it(`rejects ${what} at "${path}"`, () => {
        const result = webhookConfigSchema.safeParse(config);
        assert.ok(!result.success, 'expected the config to be rejected');
        assert.deepEqual([...new Set(result.error.issues.map((issue) => issue.path.join('.')))], [path]);
      });
    }

    it('names the unknown key, never the secret values, in its messages', () => {
      const result = webhookConfigSchema.safeParse({ urll: 'x', ...valid, auth: { type: 'bearer', token: 'tok\nSECRETVALUE' } });
      assert.ok(!result.success);
      assert.ok(result.error.issues.some((issue) => issue.code === 'unrecognized_keys' && issue.keys.includes('urll')));
      assert.ok(!JSON.stringify(result.error.issues).includes('SECRETVALUE'));
    });

    it('accepts a full config with every option', () => {
      const full = {
        url: 'https://example.com/{{event.type}}',
        method: 'PATCH',
        contentType: 'form',
        auth: { type: 'basic', username: 'u', password: 'p' },
        headers: { 'X-Title': '{{payload.title}}', 'Content-Type': 'text/plain' },
        bodyTemplate: 'a={{payload.a}}',
        timeoutMs: 30000,
        extraRetryableStatuses: [409, 423],
        externalIdPath: 'data.key',
        signing: { secrets: [generateWebhookSecret(), generateWebhookSecret()] },
      };
      assert.deepEqual(webhookConfigSchema.parse(full), full);
    });

    it('marks the auth secrets and signing secrets as secret fields in its JSON Schema', () => {
      const jsonSchema = z.toJSONSchema(webhookConfigSchema, { io: 'input', unrepresentable: 'any' });
      assert.deepEqual(secretPathsFromJsonSchema(jsonSchema), ['auth.password', 'auth.token', 'auth.value', 'signing.secrets']);
    });
  });

  describe('validateConfig', () => {
    const incidentCreated: EventTypeInfo = {
      id: 'incident.created',
      payloadSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['incidentId', 'title'],
        properties: { incidentId: { type: 'string' }, title: { type: 'string' }, count: { type: 'integer' } },
      },
      example: { incidentId: 'inc-1', title: 'Example "quoted" title', count: 2 },
    };
    const validate = (config: Record<string, unknown>, eventType = incidentCreated) =>
      webhookProvider.validateConfig!(webhookConfigSchema.parse({ url: 'https://example.com/hook', ...config }), eventType, { hasConnection: false });

    it('flags {{payload.titel}} when the payload schema has no such field, and suggests the right one', () => {
      const problems = validate({ bodyTemplate: '{"text": "{{payload.titel}}"}' });
      assert.equal(problems.length, 1);
      assert.equal(problems[0].path, 'config.bodyTemplate');
      assert.match(problems[0].message, /payload\.titel/);
      assert.match(problems[0].message, /did you mean "title"/);
    });

    it('passes {{payload.title}}', () => {
      assert.deepEqual(validate({ bodyTemplate: '{"text": "{{payload.title}}", "n": {{payload.count}}}' }), []);
    });

    it('checks the url and every header value, reporting each at its own path', () => {
      const problems = validate({ url: 'https://example.com/{{payload.incidentid}}', headers: { 'X-Who': '{{subscription.nam}}' } });
      assert.deepEqual(
        problems.map((p) => p.path),
        ['config.url', 'config.headers.X-Who'],
      );
    });

    it('flags unknown roots and fixed-shape typos such as {{event.typ}} and {{deliveryid}}', () => {
      const problems = validate({ bodyTemplate: '{"a": "{{event.typ}}", "b": "{{deliveryid}}", "c": "{{event.occurredAt}}"}' });
      assert.equal(problems.length, 2, JSON.stringify(problems));
      assert.match(problems[0].message, /did you mean "type"/);
      assert.match(problems[1].message, /did you mean "deliveryId"/);
    });

    it('allows any payload path when the event type has no schema', () => {
      assert.deepEqual(validate({ bodyTemplate: '{"a": "{{payload.whatever.deep}}"}' }, { id: 'x.y' }), []);
    });

    it('flags a JSON body that the example payload renders to invalid JSON', () => {
      const problems = validate({ bodyTemplate: '{"text": {{payload.title}}}' });
      assert.equal(problems.length, 1);
      assert.equal(problems[0].path, 'config.bodyTemplate');
      assert.match(problems[0].message, /valid JSON/);
    });
  });
});
