import assert from 'node:assert/strict';
import { TRUNCATION_MARKER } from '../../providers/shared/format';
import type { DeliveryContext, DeliveryEvent, EventTypeInfo } from '../../providers/types';
import { validateWebexConfig, webexConfigSchema } from '../../providers/webex';
import { byteLength, escapeMarkdown, formatMessage, renderMessageTemplate, truncateBytes } from '../../providers/webex/message';
import { TemplateError } from '../../providers/shared/template';

const EVENT: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-checkout-api', 'sys-payments'],
  payload: {
    incidentId: 'inc_8f2c1a',
    title: 'Checkout API returning 502s',
    description: 'Error rate on checkout-api rose above **20%** after the 14:00 deploy.',
    severity: 'major',
    status: 'investigating',
    url: 'https://status.example.com/incidents/inc_8f2c1a',
  },
  subject: 'inc_8f2c1a',
  resolves: false,
};

function ctx(event: Partial<DeliveryEvent> = {}, test = false): Pick<DeliveryContext, 'event' | 'test' | 'deliveryId' | 'subscription'> {
  return { event: { ...EVENT, ...event }, test, deliveryId: 'dlv_1', subscription: { id: 'sub_1', name: 'Ops space' } };
}

const INCIDENT_TYPE: EventTypeInfo = {
  id: 'incident.created',
  payloadSchema: { type: 'object', properties: { incidentId: { type: 'string' }, title: { type: 'string' }, severity: { type: 'string' } }, additionalProperties: false },
};

describe('webex message format', () => {
  it('writes a bold title with severity, the event and status, the systems, the description and a link', () => {
    assert.equal(
      formatMessage(ctx()),
      [
        '🟠 **\\[MAJOR\\] Checkout API returning 502s**',
        'Incident created · Status: investigating',
        'Systems: sys-checkout-api, sys-payments',
        '',
        'Error rate on checkout-api rose above **20%** after the 14:00 deploy.',
        '',
        '[View details](https://status.example.com/incidents/inc_8f2c1a)',
      ].join('\n'),
    );
  });

  it('says "Resolved" with a check mark for an event that ends its subject', () => {
    const message = formatMessage(
      ctx({ type: 'incident.resolved', displayName: 'Incident resolved', resolves: true, payload: { ...EVENT.payload, status: 'resolved', resolutionMessage: 'Rolled back.' } }),
    );
    assert.match(message, /^✅ \*\*Resolved: Checkout API returning 502s\*\*\nIncident resolved · Severity: major · Status: resolved\n/);
    assert.match(message, /\n\nRolled back\.\n\n/);
  });

  it('marks test sends and leaves out what the payload does not have', () => {
    const message = formatMessage(ctx({ type: 'healthcheck.system.degraded', displayName: 'System degraded', systemIds: [], payload: { systemId: 'sys-a', systemName: 'Checkout API' } }, true));
    assert.equal(message, '⚪ **Test: Checkout API**\nSystem degraded');
  });

  it('escapes Markdown and mentions in the title and systems so they show literally', () => {
    const message = formatMessage(ctx({ systemIds: ['db_*main*'], payload: { title: '<@all> *urgent* [click](http://x) `rm` #1 | a_b \\', severity: 'critical' } }));
    const firstLine = message.split('\n')[0];
    assert.equal(firstLine, '🔴 **\\[CRITICAL\\] \\<@all\\> \\*urgent\\* \\[click\\](http://x) \\`rm\\` \\#1 \\| a\\_b \\\\**');
    assert.match(message, /Systems: db\\_\\\*main\\\*/);
  });

  it('folds line breaks in the title into one line', () => {
    const message = formatMessage(ctx({ payload: { title: 'first\n\n# second', severity: 'minor' } }));
    assert.equal(message.split('\n')[0], '🟡 **\\[MINOR\\] first \\# second**');
  });

  it('keeps the Markdown of the description but defuses mentions that would notify the space', () => {
    const message = formatMessage(ctx({ payload: { ...EVENT.payload, description: 'Ping <@all> and <@personEmail:ceo@example.com>, see **logs**' } }));
    assert.match(message, /Ping \\<@all> and \\<@personEmail:ceo@example.com>, see \*\*logs\*\*/);
    assert.doesNotMatch(message, /(^|[^\\])<@/);
  });

  it('percent-encodes characters that would end the link target early', () => {
    const message = formatMessage(ctx({ payload: { ...EVENT.payload, url: 'https://status.example.com/a (b)/<c>' } }));
    assert.match(message, /\[View details\]\(https:\/\/status\.example\.com\/a%20%28b%29\/%3Cc%3E\)$/);
  });

  it('shortens a long multi-byte description to fit 7439 bytes, keeping the title and the link', () => {
    const description = 'Fehler überall — 🔥 '.repeat(1000); // far over the limit, 2-4 bytes per character
    const message = formatMessage(ctx({ payload: { ...EVENT.payload, description } }));
    assert.ok(byteLength(message) <= 7439, `${byteLength(message)} bytes`);
    assert.ok(byteLength(message) > 7439 - 8, 'uses the room it has');
    assert.ok(message.startsWith('🟠 **\\[MAJOR\\] Checkout API returning 502s**'));
    assert.ok(message.endsWith(`${TRUNCATION_MARKER}\n\n[View details](https://status.example.com/incidents/inc_8f2c1a)`));
    assert.ok(!message.includes('\uFFFD'), 'no character was cut in half');
  });

  it('cuts a description that fits in 7439 characters but not in 7439 bytes', () => {
    const description = '€'.repeat(3000); // 3000 characters, 9000 bytes
    const message = formatMessage(ctx({ payload: { ...EVENT.payload, description } }));
    assert.ok(message.length < 7439);
    assert.ok(byteLength(message) <= 7439, `${byteLength(message)} bytes`);
    assert.match(message, /€… \(truncated\)\n\n\[View details\]/);
  });

  it('cuts even a huge title to the limit', () => {
    const message = formatMessage(ctx({ payload: { title: 'x'.repeat(20_000) } }));
    assert.ok(byteLength(message) <= 7439);
    assert.ok(message.endsWith(TRUNCATION_MARKER));
  });
});

describe('webex byte truncation', () => {
  it('returns text that fits unchanged', () => {
    assert.equal(truncateBytes('héllo', 6), 'héllo');
  });

  it('cuts text whose characters fit but whose bytes do not', () => {
    const cut = truncateBytes('€'.repeat(20), 50); // 20 characters, 60 bytes
    assert.ok(byteLength(cut) <= 50, `${byteLength(cut)} bytes`);
    assert.ok(cut.endsWith(TRUNCATION_MARKER));
  });

  it('counts bytes, not characters, and never splits a character', () => {
    const text = '€'.repeat(100); // 3 bytes each
    const cut = truncateBytes(text, 50);
    assert.ok(byteLength(cut) <= 50);
    assert.ok(cut.endsWith(TRUNCATION_MARKER));
    assert.equal(cut.replace(TRUNCATION_MARKER, ''), '€'.repeat(Math.floor((50 - byteLength(TRUNCATION_MARKER)) / 3)));
    const emoji = truncateBytes('🔥'.repeat(20), 30);
    assert.ok(!emoji.includes('\uFFFD'));
    assert.ok(byteLength(emoji) <= 30);
  });
});

describe('webex message template', () => {
  it('reads payload.x (as the UI hints say) and escapes {{x}} for Markdown', () => {
    const out = renderMessageTemplate('**{{payload.title}}** ({{event.type}}) in {{subscription.name}}', ctx({ payload: { title: '<@all> a_b' } }));
    assert.equal(out, '**\\<@all\\> a\\_b** (incident.created) in Ops space');
  });

  it('inserts {{{x}}} as written, objects as JSON, and missing values as nothing', () => {
    const out = renderMessageTemplate('{{{payload.title}}}|{{{payload.meta}}}|{{payload.nothing}}|', ctx({ payload: { title: '*bold*', meta: { a: 1 } } }));
    assert.equal(out, '*bold*|{"a":1}||');
  });

  it('refuses a template that renders to nothing, since Webex refuses an empty message', () => {
    assert.throws(() => renderMessageTemplate('{{payload.nothing}}  ', ctx()), TemplateError);
  });

  it('cuts the rendered template to the byte limit', () => {
    const out = renderMessageTemplate('{{payload.description}}', ctx({ payload: { description: 'ü'.repeat(10_000) } }));
    assert.ok(byteLength(out) <= 7439);
    assert.ok(out.endsWith(TRUNCATION_MARKER));
  });

  it('rejects at save time paths the event can never have, including Checkstack-style event.payload.x', () => {
    const config = webexConfigSchema.parse({ roomId: 'Y2lzY29zcGFyazovL3VzL1JPT00vYWJj', messageTemplate: '{{payload.titel}} {{event.payload.title}}' });
    const problems = validateWebexConfig(config, INCIDENT_TYPE);
    assert.equal(problems.length, 2, JSON.stringify(problems));
    assert.ok(problems.every((p) => p.path === 'config.messageTemplate'));
    assert.match(problems[0].message, /did you mean "title"/);
    assert.match(problems[1].message, /event/);
    assert.deepEqual(validateWebexConfig({ ...config, messageTemplate: '{{payload.title}}' }, INCIDENT_TYPE), []);
  });

  it('rejects a template with a syntax error in the schema', () => {
    const parsed = webexConfigSchema.safeParse({ roomId: 'abc', messageTemplate: '{{#payload.title}} no end' });
    assert.equal(parsed.success, false);
  });
});

describe('escapeMarkdown', () => {
  it('escapes every character that starts Markdown syntax or a mention', () => {
    assert.equal(escapeMarkdown('\\`*_~[]<>#|'), '\\\\\\`\\*\\_\\~\\[\\]\\<\\>\\#\\|');
    assert.equal(escapeMarkdown('plain text, 100% fine.'), 'plain text, 100% fine.');
  });
});
