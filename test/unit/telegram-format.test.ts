import assert from 'node:assert/strict';
import { z } from 'zod';
import { summarise, TRUNCATION_MARKER } from '../../providers/shared/format';
import { telegramProvider } from '../../providers/telegram';
import { telegramConfigSchema, telegramConnectionSchema, telegramTarget, type ParseMode } from '../../providers/telegram/config';
import {
  TELEGRAM_TEXT_LIMIT,
  escapeHtml,
  escapeMarkdownV2,
  escapeMarkdownV2Code,
  escapeMarkdownV2Url,
  fitMarkup,
} from '../../providers/telegram/markup';
import { messageText, standardMessage } from '../../providers/telegram/message';
import type { DeliveryEvent } from '../../providers/types';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';
import { visibleText } from '../fakes/telegram';

const RESERVED = '_*[]()~`>#+-=|{}.!';
const MODES: ParseMode[] = ['HTML', 'MarkdownV2'];

const INCIDENT: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-checkout-api', 'sys-payments'],
  subject: 'inc_8f2c1a',
  resolves: false,
  payload: {
    incidentId: 'inc_8f2c1a',
    title: 'Checkout <API> & "payments" down.',
    description: 'Error rate rose above 20% (after the 14:00 deploy)!',
    severity: 'major',
    status: 'investigating',
    systemIds: ['sys-checkout-api', 'sys-payments'],
    url: 'https://status.example.com/incidents/inc_8f2c1a?a=1&b=(2)',
  },
};

function ctx(event: Partial<DeliveryEvent> = {}, test = false) {
  return { deliveryId: 'dlv_1', event: { ...INCIDENT, ...event }, subscription: { id: 'sub_1', name: 'Ops chat' }, test };
}

function config(extra: Record<string, unknown> = {}) {
  return telegramConfigSchema.parse({ chatId: -1001234567890, ...extra });
}

describe('telegram formatting', () => {
  describe('escaping', () => {
    it('escapes & < > and quotes for HTML, so text is safe in element content and in attributes', () => {
      assert.equal(escapeHtml(`a & b < c > d "e"`), 'a &amp; b &lt; c &gt; d &quot;e&quot;');
      assert.equal(visibleText(`<a href="${escapeHtml('https://x/?q="1"&r=<2>')}">${escapeHtml('<b>&')}</a>`, 'HTML'), '<b>&');
    });

    it('escapes every MarkdownV2 reserved character and the backslash outside entities', () => {
      for (const c of RESERVED + '\\') assert.equal(escapeMarkdownV2(`a${c}b`), `a\\${c}b`, `character ${c}`);
      const text = `${RESERVED}\\ plain 1.5 — ünïcode 🔥`;
      assert.equal(visibleText(escapeMarkdownV2(text), 'MarkdownV2'), text);
    });

    it('escapes only ) and \\ inside a MarkdownV2 link URL, and only ` and \\ inside code', () => {
      assert.equal(escapeMarkdownV2Url('https://x.example/a_(b)\\c?d=1.2'), 'https://x.example/a_(b\\)\\\\c?d=1.2');
      assert.equal(escapeMarkdownV2Code('a `b` \\ c.d_e'), 'a \\`b\\` \\\\ c.d_e');
      assert.equal(visibleText(`\`${escapeMarkdownV2Code('x = `y` \\ z.')}\``, 'MarkdownV2'), 'x = `y` \\ z.');
    });
  });

  describe('the standard message', () => {
    it('reads as headline, severity and status, systems, description and a link back (HTML)', () => {
      assert.equal(
        standardMessage(summarise(ctx()), 'HTML'),
        [
          '🟠 <b>Incident created: Checkout &lt;API&gt; &amp; &quot;payments&quot; down.</b>',
          '<b>Severity:</b> major · <b>Status:</b> investigating',
          '<b>Systems:</b> sys-checkout-api, sys-payments',
          '',
          'Error rate rose above 20% (after the 14:00 deploy)!',
          '',
          '<a href="https://status.example.com/incidents/inc_8f2c1a?a=1&amp;b=(2)">Open in the status page</a>',
        ].join('\n'),
      );
    });

    it('reads the same in MarkdownV2, with every reserved character escaped and the URL escaped for a link', () => {
      const text = standardMessage(summarise(ctx()), 'MarkdownV2');
      assert.equal(
        text,
        [
          '🟠 *Incident created: Checkout <API\\> & "payments" down\\.*',
          '*Severity:* major · *Status:* investigating',
          '*Systems:* sys\\-checkout\\-api, sys\\-payments',
          '',
          'Error rate rose above 20% \\(after the 14:00 deploy\\)\\!',
          '',
          '[Open in the status page](https://status.example.com/incidents/inc_8f2c1a?a=1&b=(2\\))',
        ].join('\n'),
      );
      assert.match(visibleText(text, 'MarkdownV2'), /^🟠 Incident created: Checkout <API> & "payments" down\.\n/);
    });

    it('marks resolving events green and test sends as tests', () => {
      const resolved = standardMessage(summarise(ctx({ type: 'incident.resolved', displayName: 'Incident resolved', resolves: true })), 'HTML');
      assert.match(resolved, /^✅ <b>Incident resolved: /);
      assert.match(standardMessage(summarise(ctx({}, true)), 'MarkdownV2'), /^_Test message_\n/);
    });

    it('shortens a long description to fit 4096 characters, keeps the link, and still parses', () => {
      for (const mode of MODES) {
        for (const filler of ['x', '.', '&', '<>', '🔥', 'a_b*c']) {
          const description = filler.repeat(Math.ceil(9000 / filler.length));
          const text = standardMessage(summarise(ctx({ payload: { ...INCIDENT.payload, description } })), mode);
          assert.ok(text.length <= TELEGRAM_TEXT_LIMIT, `${mode} ${filler}: ${text.length}`);
          assert.ok(text.length > TELEGRAM_TEXT_LIMIT - 20, `${mode} ${filler}: uses the room (${text.length})`);
          const visible = visibleText(text, mode); // throws if an escape was cut
          assert.ok(visible.includes(TRUNCATION_MARKER), `${mode} ${filler}: marker`);
          assert.ok(visible.endsWith('Open in the status page'), `${mode} ${filler}: link kept`);
        }
      }
    });

    it('fits even when the title and systems alone are oversized', () => {
      const payload = { ...INCIDENT.payload, title: '&.'.repeat(3000), systemNames: Array.from({ length: 900 }, (_, i) => `s-${i}.`), description: '<'.repeat(5000) };
      for (const mode of MODES) {
        const text = standardMessage(summarise(ctx({ payload })), mode);
        assert.ok(text.length <= TELEGRAM_TEXT_LIMIT, `${mode}: ${text.length}`);
        visibleText(text, mode);
      }
    });
  });

  describe('fitting formatted text to the limit', () => {
    const samples: Record<ParseMode, string> = {
      HTML: '<b>bold &amp; <i>italic &lt;x&gt;</i></b> then <a href="https://e.x/?a=1&amp;b=2">a link</a> and <code>c &amp; d</code> 🔥 end',
      MarkdownV2: '*bold \\. _italic \\(x\\)_* then [a link](https://e.x/\\)) and `c \\` d` and ||spoiler \\!|| 🔥 __under__ end\\.',
    };

    it('never cuts inside a tag, entity, escape or link, and closes what is open, at every length', () => {
      for (const mode of MODES) {
        const text = samples[mode];
        visibleText(text, mode);
        for (let max = 20; max < text.length; max++) {
          const cut = fitMarkup(text, mode, max);
          assert.ok(cut.length <= max, `${mode} at ${max}: ${cut.length}`);
          assert.doesNotThrow(() => visibleText(cut, mode), `${mode} at ${max}: ${cut}`);
          assert.ok(visibleText(cut, mode).includes(TRUNCATION_MARKER), `${mode} at ${max}`);
        }
        assert.equal(fitMarkup(text, mode, text.length), text, 'text that fits is unchanged');
      }
    });

    it('closes open HTML tags after the marker', () => {
      assert.equal(fitMarkup(`<b>${'a'.repeat(50)}</b>`, 'HTML', 30), `<b>${'a'.repeat(10)}${TRUNCATION_MARKER}</b>`);
      assert.equal(fitMarkup(`*${'a'.repeat(50)}*`, 'MarkdownV2', 30), `*${'a'.repeat(13)}… \\(truncated\\)*`);
    });
  });

  describe('templates', () => {
    const tpl = (template: string, parseMode: ParseMode) => messageText(ctx(), config({ template, parseMode }));

    it('escapes every value for the parse mode, triple braces included, so a payload cannot inject markup', () => {
      const html = tpl('<b>{{payload.title}}</b> {{{payload.title}}} in {{#payload.systemIds}}<code>{{.}}</code> {{/payload.systemIds}}', 'HTML');
      assert.equal(
        html,
        '<b>Checkout &lt;API&gt; &amp; &quot;payments&quot; down.</b> Checkout &lt;API&gt; &amp; &quot;payments&quot; down. in <code>sys-checkout-api</code> <code>sys-payments</code> ',
      );
      const md = tpl('*{{payload.title}}* {{{payload.description}}}', 'MarkdownV2');
      assert.equal(md, '*Checkout <API\\> & "payments" down\\.* Error rate rose above 20% \\(after the 14:00 deploy\\)\\!');
      visibleText(md, 'MarkdownV2');
    });

    it('truncates a rendered template at the limit without breaking its markup', () => {
      for (const mode of MODES) {
        const text = messageText(ctx({ payload: { ...INCIDENT.payload, description: '.&<'.repeat(3000) } }), config({ parseMode: mode, template: mode === 'HTML' ? '<i>{{payload.description}}</i>' : '_{{payload.description}}_' }));
        assert.ok(text.length <= TELEGRAM_TEXT_LIMIT);
        assert.ok(visibleText(text, mode).endsWith(TRUNCATION_MARKER));
      }
    });

    it('refuses at save time a template whose own markup Telegram would refuse, or that reads unknown fields', () => {
      const eventType = { id: 'incident.created', example: INCIDENT.payload, payloadSchema: { type: 'object', properties: { title: { type: 'string' } }, additionalProperties: false } };
      const check = (template: string, parseMode: ParseMode) => telegramProvider.validateConfig!(config({ template, parseMode }), eventType, { hasConnection: true });
      assert.deepEqual(check('*{{payload.title}}* is down.', 'MarkdownV2').map((p) => p.path), ['config.template']);
      assert.match(check('*{{payload.title}}* is down.', 'MarkdownV2')[0].message, /"\." is reserved in MarkdownV2 and must be written \\\./);
      assert.match(check('<h1>{{payload.title}}</h1>', 'HTML')[0].message, /<h1> is not a tag Telegram supports/);
      assert.match(check('<b>{{payload.title}}', 'HTML')[0].message, /<b> is never closed/);
      assert.match(check('{{payload.titel}}', 'HTML')[0].message, /did you mean "title"/);
      assert.deepEqual(check('*{{payload.title}}* is down\\.', 'MarkdownV2'), []);
      assert.deepEqual(check('<b>{{payload.title}}</b> &amp; more', 'HTML'), []);
    });
  });

  describe('config', () => {
    it('marks the bot token secret and defaults the API base URL, parse mode and follow-up mode', () => {
      const json = z.toJSONSchema(telegramConnectionSchema, { io: 'input' }) as Record<string, unknown>;
      assert.deepEqual(secretPathsFromJsonSchema(json), ['botToken']);
      assert.equal(telegramConnectionSchema.parse({ botToken: `123:${'a'.repeat(35)}` }).apiBaseUrl, 'https://api.telegram.org');
      assert.deepEqual(config(), { chatId: -1001234567890, parseMode: 'HTML', followUpMode: 'edit', linkPreview: false });
    });

    it('takes numeric chat ids and @channelusernames, and nothing else', () => {
      for (const chatId of [-1001234567890, 42, '-1001234567890', '@status_channel']) assert.ok(telegramConfigSchema.safeParse({ chatId }).success, String(chatId));
      for (const chatId of ['status', '@ab', 1.5, '', '@bad name']) assert.ok(!telegramConfigSchema.safeParse({ chatId }).success, String(chatId));
      assert.ok(!telegramConnectionSchema.safeParse({ botToken: 'not-a-token' }).success);
      assert.ok(!telegramConfigSchema.safeParse({ chatId: 1, extra: true }).success, 'unknown fields are refused');
    });

    it('keys follow-ups by API, bot id, chat and topic, never by the token', () => {
      const token = `5550001111:${'S'.repeat(35)}`;
      const connection = telegramConnectionSchema.parse({ botToken: token });
      const key = telegramTarget(config(), connection);
      assert.equal(key, 'telegram:https://api.telegram.org:bot5550001111:-1001234567890');
      assert.ok(!key.includes('S'.repeat(10)));
      assert.notEqual(telegramTarget(config({ messageThreadId: 7 }), connection), key);
    });
  });
});
