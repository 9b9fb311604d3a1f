import assert from 'node:assert/strict';
import { parseDeliveryInput } from '../../providers/input';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import type { DeliveryContext, DeliveryEvent, DeliveryOutcome } from '../../providers/types';
import { webexConfigSchema, webexProvider, type WebexConfig, type WebexConnection } from '../../providers/webex';
import { FakeWebex } from '../fakes/webex';

const TOKEN = 'NjM5ZjFhYmMtZmFrZS10b2tlbi0wMTIzNDU2Nzg5_PF84_1eb65fdf';
const http127 = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: ['127.0.0.0/8'] });

const EVENT: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-a'],
  payload: { incidentId: 'inc_1', title: 'Checkout down', severity: 'critical' },
  subject: 'inc_1',
  resolves: false,
};

describe('webex provider against the fake API', () => {
  let fake: FakeWebex;
  let room: string;

  beforeEach(async () => {
    fake = await new FakeWebex(TOKEN).start();
    room = fake.addRoom('Ops');
  });
  afterEach(() => fake.stop());

  function context(config: Partial<WebexConfig> = {}, overrides: Partial<DeliveryContext<WebexConfig, WebexConnection>> = {}): DeliveryContext<WebexConfig, WebexConnection> {
    return {
      deliveryId: 'dlv_1',
      attempt: 1,
      event: EVENT,
      subscription: { id: 'sub_1', name: 'Ops' },
      config: webexConfigSchema.parse({ roomId: room, ...config }),
      connection: { botToken: TOKEN, apiBaseUrl: fake.url },
      test: false,
      redelivery: false,
      http: http127,
      ...overrides,
    };
  }

  const deliver = (...args: Parameters<typeof context>) => webexProvider.deliver(context(...args));
  const externalId = (o: DeliveryOutcome): string => {
    if (o.kind !== 'success' || !o.externalId) assert.fail(`not a success with an external id: ${JSON.stringify(o)}`);
    return o.externalId;
  };

  it('posts {roomId, markdown} with the bot token and records the message id', async () => {
    const o = await deliver();
    const [req] = fake.at('POST', '/v1/messages');
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(String(req.headers['content-type']), /^application\/json/);
    assert.deepEqual(Object.keys(req.json), ['roomId', 'markdown']);
    assert.equal(req.json.roomId, room);
    assert.match(req.json.markdown, /^🔴 \*\*\\\[CRITICAL\\\] Checkout down\*\*/);
    assert.equal(externalId(o), fake.messagesIn(room)[0].id);
  });

  it('replies in the thread of the first message in thread mode, keeping the first message as the record', async () => {
    const first = externalId(await deliver());
    const o = await deliver({}, { followUp: { externalId: first }, event: { ...EVENT, type: 'incident.resolved', displayName: 'Incident resolved', resolves: true } });
    assert.equal(externalId(o), first);
    const replies = fake.messagesIn(room, first);
    assert.equal(replies.length, 1);
    assert.match(replies[0].markdown!, /^✅ \*\*Resolved: Checkout down\*\*/);
    assert.equal(fake.at('PUT', '/v1/messages').length, 0);
  });

  it('edits the first message in edit mode and counts the edits in the external id', async () => {
    const first = externalId(await deliver({ followUpMode: 'edit' }));
    const o = await deliver({ followUpMode: 'edit' }, { followUp: { externalId: first }, event: { ...EVENT, resolves: true } });
    assert.equal(externalId(o), `${first}#edits=1`);
    const [put] = fake.at('PUT', '/v1/messages');
    assert.equal(put.path, `/v1/messages/${first}`);
    assert.deepEqual(Object.keys(put.json), ['roomId', 'markdown']);
    assert.match(fake.messages.get(first)!.markdown!, /^✅ \*\*Resolved/);
    assert.equal(fake.messagesIn(room).length, 1, 'no new message');
  });

  it('after 10 edits replies in the thread without trying an 11th edit', async () => {
    let id = externalId(await deliver({ followUpMode: 'edit' }));
    for (let i = 0; i < 10; i++) id = externalId(await deliver({ followUpMode: 'edit' }, { followUp: { externalId: id } }));
    assert.match(id, /#edits=10$/);
    const puts = fake.at('PUT', '/v1/messages').length;
    const o = await deliver({ followUpMode: 'edit' }, { followUp: { externalId: id } });
    assert.equal(externalId(o), id);
    assert.equal(fake.at('PUT', '/v1/messages').length, puts, 'no 11th edit was tried');
    assert.equal(fake.messagesIn(room, id.split('#')[0]).length, 1, 'one thread reply');
  });

  it('falls back to a thread reply when Webex refuses the edit, and stops editing that message', async () => {
    const first = externalId(await deliver({ followUpMode: 'edit' }));
    fake.messages.get(first)!.edits = 10; // edited elsewhere: our count says 0
    const o = await deliver({ followUpMode: 'edit' }, { followUp: { externalId: first } });
    assert.equal(externalId(o), `${first}#edits=10`);
    assert.equal(fake.at('PUT', '/v1/messages').length, 1);
    assert.equal(fake.messagesIn(room, first).length, 1);
  });

  it('posts a fresh message that replaces the record when the first one is gone', async () => {
    const first = externalId(await deliver());
    fake.messages.delete(first);
    const o = await deliver({}, { followUp: { externalId: first } });
    const fresh = externalId(o);
    assert.notEqual(fresh, first);
    assert.equal(fake.messages.get(fresh)!.parentId, undefined);
  });

  it('pauses when the bot was removed from the room, even in the middle of a follow-up', async () => {
    const first = externalId(await deliver({ followUpMode: 'edit' }));
    fake.rooms[0].member = false;
    const o = await deliver({ followUpMode: 'edit' }, { followUp: { externalId: first } });
    assert.ok(o.kind === 'permanent');
    assert.equal(o.errorCode, 'webex_not_found');
    assert.match(o.pauseReason ?? '', /was not found/);
  });

  it('does not fall back to a thread reply when an edit is rate limited', async () => {
    const first = externalId(await deliver({ followUpMode: 'edit' }));
    fake.script.push({ method: 'PUT', status: 429, headers: { 'retry-after': '5' } });
    const o = await deliver({ followUpMode: 'edit' }, { followUp: { externalId: first } });
    assert.deepEqual([o.kind, o.kind === 'retryable' && o.retryAfterMs], ['retryable', 5000]);
    assert.equal(fake.messagesIn(room).length, 1, 'no reply was posted');
  });

  it('answers a wrong token with 401 and pauses, without the token in the error', async () => {
    const o = await deliver({}, { connection: { botToken: 'wrong-token-value', apiBaseUrl: fake.url } });
    assert.ok(o.kind === 'permanent');
    assert.equal(o.httpStatus, 401);
    assert.ok(o.pauseReason);
    assert.match(o.error, /valid access token/);
  });

  it('is retryable without leaking the token when the API cannot be reached', async () => {
    await fake.stop();
    const o = await deliver();
    assert.equal(o.kind, 'retryable');
    assert.ok(o.kind === 'retryable' && !o.error.includes(TOKEN));
  });

  it('fails a broken stored config permanently instead of throwing', async () => {
    // the attempt activity parses the stored config once, before the provider is called
    const parsed = parseDeliveryInput(webexProvider, { roomId: '' }, context().connection);
    assert.ok(!parsed.ok);
    const o = parsed.outcome;
    assert.deepEqual([o.kind, o.kind !== 'success' && o.errorCode], ['permanent', 'invalid_config']);
  });

  it('sends the rendered template when one is configured', async () => {
    await deliver({ messageTemplate: '**{{payload.title}}** is {{payload.severity}}' });
    assert.equal(fake.at('POST', '/v1/messages')[0].json.markdown, '**Checkout down** is critical');
  });

  describe('connection test and rooms', () => {
    const conn = () => ({ connection: { botToken: TOKEN, apiBaseUrl: fake.url }, http: http127, query: {} });

    it('tests the connection with GET /people/me and names the bot', async () => {
      assert.deepEqual(await webexProvider.testConnection!(conn()), { ok: true, message: 'Connected as bot Status Bot' });
      assert.equal(fake.at('GET', '/v1/people/me')[0].headers.authorization, `Bearer ${TOKEN}`);
    });

    it('reports a rejected token readably', async () => {
      const r = await webexProvider.testConnection!({ ...conn(), connection: { botToken: 'nope-nope', apiBaseUrl: fake.url } });
      assert.equal(r.ok, false);
      assert.match(r.message, /HTTP 401 \(the bot token is invalid, expired or revoked\)/);
    });

    it('lists group rooms across Link-header pages, sorted by title', async () => {
      for (let i = 0; i < 230; i++) fake.addRoom(`Room ${String(i).padStart(3, '0')}`);
      fake.addRoom('Not a member', { member: false });
      fake.addRoom('Direct', { type: 'direct' });
      const rooms = await webexProvider.options!.rooms(conn());
      assert.equal(rooms.length, 231);
      assert.deepEqual(rooms[0], { value: room, label: 'Ops' });
      assert.equal(rooms[1].label, 'Room 000');
      const gets = fake.at('GET', '/v1/rooms');
      assert.equal(gets.length, 3);
      assert.equal(gets[0].url, '/v1/rooms?type=group&max=100');
    });

    it('throws a readable error when listing rooms is refused', async () => {
      fake.script.push({ path: '/v1/rooms', status: 503 });
      await assert.rejects(webexProvider.options!.rooms(conn()), /Webex refused listing rooms: HTTP 503/);
    });
  });
});
