import assert from 'node:assert/strict';
import { FakeDiscord } from '../fakes/discord';
import { FakeGoogleChat } from '../fakes/google-chat';
import { JiraFake } from '../fakes/jira';
import { FakeOpsgenie } from '../fakes/opsgenie';
import { FakePagerduty } from '../fakes/pagerduty';
import { Receiver } from '../fakes/receiver';
import { FakeSlack } from '../fakes/slack';
import { FakeSmtp } from '../fakes/smtp';
import { TeamsFake } from '../fakes/teams';
import { TelegramFake } from '../fakes/telegram';
import { FakeWebex } from '../fakes/webex';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/*
 * One target key (issue 21 item 1): for every provider, the target GET /targets lists after a delivery is the
 * key its rate limit is kept under, so a limit set on that listed target holds the provider's next deliveries.
 * (Before, Slack, Teams and Google Chat incoming webhooks were listed under their origin while their rate
 * limits were looked up under no key at all: a limit set there never applied.) Real Temporal, PostgreSQL and
 * each provider's HTTP (or SMTP) fake; the spacing is measured where the requests arrive.
 */

const SLACK_TOKEN = 'xoxb-7001-8002-targetKeysBotTokenValue';
const TELEGRAM_TOKEN = `6123456789:AAF${'k'.repeat(12)}_tK-${'q'.repeat(16)}`;
const TELEGRAM_CHAT = -1001000000077;
const WEBEX_TOKEN = 'ZmFrZS13ZWJleC1ib3QtdGFyZ2V0LWtleXM_PF84_c0ffee77';
const PD_KEY = 'R0UTINGKEYTARGETKEYS00000000000A';
const OG_KEY = '3f1b7c2e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const DISCORD_ID = '7700770077007';
const DISCORD_TOKEN = 'hook-token-TargetKeys-9xQ2';
const SMTP_USER = 'status@example.com';
const SMTP_PASSWORD = 'smtp-pa55word-targetkeys';

/** Deliveries sent after the limit is set, and the limit (requests per second) they are held to. */
const HELD = 3;
const PER_SECOND = 1;
/** Slots are 1.1/N s apart (src/targets/rate-limits.ts); a send reaches the fake up to this much later than its slot. */
const JITTER_MS = 300;

interface Case {
  provider: string;
  /** The subscription's config (and connection) pointing at the fake. */
  setup(): Promise<{ config: Record<string, unknown>; connectionId?: string }>;
  /** When the fake received each send so far (one per delivery). */
  sends(): number[];
  /** Jitter allowed between a slot and the send's arrival, when more than JITTER_MS. */
  jitterMs?: number;
}

describe('one target key: a limit set on a target from GET /targets holds its deliveries, per provider (real Temporal, PostgreSQL and fakes)', function () {
  this.timeout(300_000);
  let hub: Hub;
  const receiver = new Receiver();
  const slack = new FakeSlack();
  const teams = new TeamsFake();
  const chat = new FakeGoogleChat();
  const jira = new JiraFake();
  const webex = new FakeWebex(WEBEX_TOKEN);
  const telegram = new TelegramFake(TELEGRAM_TOKEN);
  const pagerduty = new FakePagerduty(PD_KEY);
  const opsgenie = new FakeOpsgenie(OG_KEY);
  const discord = new FakeDiscord();
  const smtp = new FakeSmtp({ user: SMTP_USER, password: SMTP_PASSWORD, requireTlsForAuth: true });
  const fakes = [receiver, slack, teams, chat, jira, webex, telegram, pagerduty, opsgenie, discord, smtp];

  before(async () => {
    for (const f of fakes) await f.start();
    hub = await Hub.start('target_keys', { PROVIDER_PLUGINS: './examples/provider-plugin-discord' });
  });
  after(async () => {
    await hub?.close();
    for (const f of fakes) await f.stop().catch(() => undefined);
  });
  afterEach(() => hub.dataSource.query('DELETE FROM subscriptions'));

  async function connect(provider: string, config: Record<string, unknown>): Promise<string> {
    const res = await hub.call('POST', '/connections', { provider, name: `${provider} for target keys`, config });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  }

  const cases: Case[] = [
    {
      provider: 'webhook',
      setup: async () => ({ config: { url: `${receiver.url}/hook` } }),
      sends: () => receiver.at('/hook').map((r) => r.at),
    },
    {
      provider: 'slack', // incoming webhook: keyed by the webhook's origin
      setup: async () => {
        slack.addChannel({ id: 'C0HOOK', name: 'hooked' });
        return { config: { webhookUrl: slack.addHook('/services/T0KEYS/B0HOOK/hookSecretTargetKeys', 'C0HOOK') } };
      },
      sends: () => slack.requests.filter((r) => r.path.startsWith('/services/')).map((r) => r.at),
    },
    {
      provider: 'slack', // bot: keyed by its channel
      setup: async () => {
        slack.addToken(SLACK_TOKEN).addChannel({ id: 'C0KEYS', name: 'keys' });
        return { config: { channel: 'C0KEYS' }, connectionId: await connect('slack', { botToken: SLACK_TOKEN, apiBaseUrl: slack.apiBaseUrl }) };
      },
      sends: () => slack.calls('chat.postMessage').map((r) => r.at),
    },
    {
      provider: 'teams', // Workflows webhook: keyed by its origin
      setup: async () => ({ config: { mode: 'workflow', webhookUrl: teams.addWorkflow().url } }),
      sends: () => teams.at('workflow').map((r) => r.at),
    },
    {
      provider: 'google-chat',
      setup: async () => ({ config: { webhookUrl: chat.addSpace().webhookUrl } }),
      sends: () => chat.requests.filter((r) => r.method === 'POST').map((r) => r.at),
    },
    {
      provider: 'jira',
      setup: async () => ({
        config: { projectKey: 'OPS', issueTypeId: '10001' },
        connectionId: await connect('jira', { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken }),
      }),
      sends: () => jira.at('POST', /^issue$/).map((r) => r.at),
    },
    {
      provider: 'webex',
      setup: async () => ({
        config: { roomId: webex.addRoom('Target keys') },
        connectionId: await connect('webex', { botToken: WEBEX_TOKEN, apiBaseUrl: webex.url }),
      }),
      sends: () => webex.at('POST', '/v1/messages').map((r) => r.at),
    },
    {
      provider: 'telegram',
      setup: async () => {
        telegram.addChat({ id: TELEGRAM_CHAT, type: 'supergroup', title: 'Keys' });
        return { config: { chatId: TELEGRAM_CHAT }, connectionId: await connect('telegram', { botToken: TELEGRAM_TOKEN, apiBaseUrl: telegram.url }) };
      },
      sends: () => telegram.callsOf('sendMessage').map((c) => c.at),
    },
    {
      provider: 'pagerduty',
      setup: async () => ({ config: { routingKey: PD_KEY, apiBaseUrl: pagerduty.url } }),
      sends: () => pagerduty.requests.map((r) => r.at),
    },
    {
      provider: 'opsgenie',
      setup: async () => ({ config: { apiKey: OG_KEY, region: 'eu', apiBaseUrl: opsgenie.url } }),
      sends: () => opsgenie.requests.filter((r) => r.method === 'POST').map((r) => r.at),
    },
    {
      provider: 'discord', // the example plugin
      setup: async () => {
        discord.addWebhook(DISCORD_ID, DISCORD_TOKEN);
        return { config: { webhookUrl: `https://discord.com/api/webhooks/${DISCORD_ID}/${DISCORD_TOKEN}`, apiBaseUrl: discord.url } };
      },
      sends: () => discord.requests.filter((r) => r.method === 'POST').map((r) => r.at),
    },
    {
      provider: 'email',
      setup: async () => ({
        config: { to: ['oncall@example.com'] },
        connectionId: await connect('email', {
          host: 'localhost', port: smtp.port, security: 'starttls', username: SMTP_USER, password: SMTP_PASSWORD,
          from: 'status@example.com', fromName: 'Status page', caCertificate: smtp.caCertificate,
        }),
      }),
      sends: () => smtp.mails.map((m) => m.at),
      jitterMs: 450, // a mail is recorded at the end of DATA, after a fresh connection's STARTTLS and AUTH
    },
  ];

  async function ingest(id: string): Promise<string> {
    const res = await hub.call(
      'POST', '/ingest',
      { event: 'incident.created', id, payload: { incidentId: id, title: `Checkout down ${id}`, severity: 'major', url: `https://status.example.com/i/${id}`, systemIds: ['sys-web'] } },
      INGEST_TOKEN,
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.deliveries.length, 1, JSON.stringify(res.body));
    return res.body.deliveries[0].id as string;
  }

  async function succeeded(deliveryId: string) {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      assert.notEqual(d.body.status, 'failed', JSON.stringify(d.body));
      return d.body.status === 'success' ? d.body : undefined;
    }, `delivery ${deliveryId} to succeed`, 60_000);
  }

  for (const [n, c] of cases.entries()) {
    it(`${c.provider} (${n}): the listed target is the limited one`, async () => {
      const { config, connectionId } = await c.setup();
      const sub = await hub.call('POST', '/subscriptions', {
        name: `${c.provider} ${n}`, provider: c.provider, event: 'incident.created', config,
        ...(connectionId ? { connectionId } : {}),
        retryPolicy: { scheduleMs: [200, 200, 200] },
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));

      // a first delivery makes the target known: GET /targets lists it with this subscription
      await succeeded(await ingest(`keys-${n}-first`));
      type Listed = { target: string; provider: string; subscriptions: { id: string }[] };
      // the attempt records its target just after the delivery's status is written
      const target = await waitFor(async () => {
        const listed = await hub.call('GET', '/targets?limit=200');
        assert.equal(listed.status, 200, JSON.stringify(listed.body));
        return (listed.body.items as Listed[]).find((t) => t.subscriptions.some((s) => s.id === sub.body.id));
      }, `GET /targets to list the target of the ${c.provider} subscription`);
      assert.equal(target.provider, c.provider);

      const put = await hub.call('PUT', `/targets/${encodeURIComponent(target.target)}/limit`, { requestsPerSecond: PER_SECOND });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const before = c.sends().length;
      assert.equal(before, 1, 'one send for the first delivery');

      // events a millisecond apart, each its own subject: unheld they would go out together
      const ids: string[] = [];
      for (let i = 0; i < HELD; i++) ids.push(await ingest(`keys-${n}-held-${i}`));
      const done = await Promise.all(ids.map(succeeded));
      for (const d of done) assert.equal(d.attempts, 1, 'a wait for the limit is not a failed attempt');

      const times = c.sends().slice(before).sort((a, b) => a - b);
      assert.equal(times.length, HELD, 'one send per held delivery');
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      const spacing = (1000 * 1.1) / PER_SECOND;
      for (const gap of gaps) assert.ok(gap >= spacing - (c.jitterMs ?? JITTER_MS), `sends at most ${PER_SECOND}/s to ${target.target}: gaps ${gaps.join(', ')} ms`);

      const limits = await hub.call('GET', '/targets/limits');
      assert.ok(limits.body.items.some((l: { targetKey: string; requestsPerSecond: number }) => l.targetKey === target.target && l.requestsPerSecond === PER_SECOND));
    });
  }
});
