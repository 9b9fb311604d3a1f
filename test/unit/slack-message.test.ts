import assert from 'node:assert/strict';
import { TRUNCATION_MARKER } from '../../providers/shared/format';
import { slackConfigSchema } from '../../providers/slack';
import { buildMessage, capBlocks, renderMrkdwnTemplate, type Block } from '../../providers/slack/message';
import { escapeMrkdwn, fitMrkdwn, mentionMrkdwn, mrkdwnDate, mrkdwnLink } from '../../providers/slack/mrkdwn';
import type { DeliveryEvent } from '../../providers/types';

function ctx(payload: Record<string, unknown>, extra: Partial<DeliveryEvent> = {}, test = false) {
  return {
    deliveryId: 'dlv_1',
    test,
    subscription: { id: 'sub_1', name: 'Ops' },
    event: {
      id: 'evt_1',
      type: 'incident.created',
      displayName: 'Incident created',
      occurredAt: '2025-03-04T14:07:12.000Z',
      systemIds: ['sys-a', 'sys-b'],
      payload,
      subject: 'inc_1',
      resolves: false,
      ...extra,
    },
  };
}

const channelConfig = (extra: Record<string, unknown> = {}) => slackConfigSchema.parse({ channel: 'C0OPS', ...extra });
const blockOf = (blocks: Block[] | undefined, type: string): any => blocks?.find((b) => b.type === type);
const allText = (blocks: Block[] | undefined) => JSON.stringify(blocks);

describe('slack message formatting', () => {
  describe('mrkdwn escaping', () => {
    it('escapes only &, < and > (as &amp; &lt; &gt;)', () => {
      assert.equal(escapeMrkdwn('a & b <!channel> <@U1> "q" *b* _i_'), 'a &amp; b &lt;!channel&gt; &lt;@U1&gt; "q" *b* _i_');
    });

    it('cuts before escaping, so the result fits and no entity is split', () => {
      const out = fitMrkdwn('&'.repeat(100), 40);
      assert.ok(out.length <= 40, `${out.length}`);
      assert.ok(out.endsWith(TRUNCATION_MARKER));
      assert.match(out.slice(0, -TRUNCATION_MARKER.length), /^(&amp;)+$/);
    });

    it('leaves a text that fits untouched apart from escaping', () => {
      assert.equal(fitMrkdwn('x > y', 10), 'x &gt; y');
    });

    it('never splits a surrogate pair when cutting', () => {
      const out = fitMrkdwn('😀'.repeat(50), 21);
      const kept = out.slice(0, -TRUNCATION_MARKER.length);
      assert.equal(kept, '😀'.repeat(4));
    });

    it('makes links whose URL cannot end the link early', () => {
      assert.equal(mrkdwnLink('https://x.test/a?b=1&c=<2>|3 4', 'View & go'), '<https://x.test/a?b=1&amp;c=%3C2%3E%7C3%204|View &amp; go>');
    });

    it('formats dates for each reader with a UTC fallback, and mentions by kind', () => {
      assert.equal(mrkdwnDate('2025-03-04T14:07:12Z'), '<!date^1741097232^{date_short_pretty} {time}|2025-03-04 14:07 UTC>');
      assert.equal(mrkdwnDate('not a date'), undefined);
      assert.deepEqual(['here', 'channel', 'U123', 'S456'].map(mentionMrkdwn), ['<!here>', '<!channel>', '<@U123>', '<!subteam^S456>']);
    });
  });

  describe('the default card', () => {
    const payload = {
      incidentId: 'inc_1',
      title: 'Checkout <API> & payments down',
      severity: 'major',
      status: 'investigating',
      description: 'Error rate above 20% <!channel>',
      url: 'https://status.example.com/incidents/inc_1',
    };

    it('has a header, the facts, the escaped description, a link and the time', () => {
      const m = buildMessage(ctx(payload), channelConfig(), 'post');
      const header = blockOf(m.blocks, 'header');
      assert.deepEqual(header.text, { type: 'plain_text', text: ':large_orange_circle: Checkout <API> & payments down', emoji: true });
      const facts = m.blocks!.find((b: any) => b.fields) as any;
      assert.deepEqual(
        facts.fields.map((f: any) => f.text),
        ['*Event*\nIncident created', '*Severity*\nmajor', '*Status*\ninvestigating', '*Systems*\nsys-a, sys-b'],
      );
      const description = m.blocks!.find((b: any) => b.type === 'section' && b.text) as any;
      assert.equal(description.text.text, 'Error rate above 20% &lt;!channel&gt;');
      const context = blockOf(m.blocks, 'context');
      assert.match(context.elements[0].text, /^<https:\/\/status\.example\.com\/incidents\/inc_1\|View details> · Incident created <!date\^1741097232\^/);
      assert.equal(m.text, 'Incident created: Checkout &lt;API&gt; &amp; payments down (major, investigating)');
    });

    it('prefers systemNames over ids and leaves out facts the payload does not have', () => {
      const m = buildMessage(ctx({ title: 'T', systemNames: ['Checkout API'] }), channelConfig(), 'post');
      const facts = m.blocks!.find((b: any) => b.fields) as any;
      assert.deepEqual(facts.fields.map((f: any) => f.text), ['*Event*\nIncident created', '*System*\nCheckout API']);
      assert.equal(blockOf(m.blocks, 'context').elements[0].text.includes('View details'), false);
    });

    it('drops a link that is not http(s)', () => {
      const m = buildMessage(ctx({ title: 'T', url: 'javascript:alert(1)' }), channelConfig(), 'post');
      assert.ok(!allText(m.blocks).includes('javascript'));
    });

    it('shows a resolved look for a resolving event', () => {
      const m = buildMessage(
        ctx({ title: 'Checkout down', severity: 'major', status: 'resolved', resolutionMessage: 'Rolled back' }, { type: 'incident.resolved', displayName: 'Incident resolved', resolves: true }),
        channelConfig(),
        'update',
      );
      assert.equal(blockOf(m.blocks, 'header').text.text, ':white_check_mark: Resolved: Checkout down');
      assert.ok(allText(m.blocks).includes('Rolled back'));
      assert.match(blockOf(m.blocks, 'context').elements[0].text, /^Updated <!date/);
    });

    it('marks test deliveries', () => {
      const m = buildMessage(ctx({ title: 'T' }, {}, true), channelConfig(), 'post');
      assert.match(blockOf(m.blocks, 'header').text.text, /\[Test\] T$/);
      assert.match(m.text, /^\[Test\] /);
      assert.match(blockOf(m.blocks, 'context').elements[0].text, /Test delivery/);
    });

    it('puts mentions in new posts and replies, never in edits', () => {
      const config = channelConfig({ mentions: ['here', 'S0ONCALL'] });
      const post = buildMessage(ctx({ title: 'T' }), config, 'post');
      assert.match(post.text, /^<!here> <!subteam\^S0ONCALL> /);
      assert.ok(allText(post.blocks).includes('<!here> <!subteam^S0ONCALL>'));
      const reply = buildMessage(ctx({ title: 'T' }), config, 'reply');
      assert.match((reply.blocks![0] as any).text.text, /^<!here> <!subteam\^S0ONCALL> /);
      const edit = buildMessage(ctx({ title: 'T' }), config, 'update');
      assert.ok(!edit.text.includes('<!here>') && !allText(edit.blocks).includes('here>'));
    });

    it('makes a compact thread reply with the event, status and update text', () => {
      const m = buildMessage(
        ctx({ title: 'T', status: 'identified', updateMessage: 'Rolled back & watching' }, { type: 'incident.updated', displayName: 'Incident updated' }),
        channelConfig(),
        'reply',
      );
      assert.equal((m.blocks![0] as any).text.text, ':large_blue_circle: *Incident updated* · Status: *identified*\nRolled back &amp; watching');
      assert.equal(m.blocks!.length, 2);
    });
  });

  describe("Slack's size limits", () => {
    const huge = 'x'.repeat(50_000);

    it('cuts a long description to the 3,000-character section limit with the marker', () => {
      const m = buildMessage(ctx({ title: 'T', description: `<${huge}` }), channelConfig(), 'post');
      const description = m.blocks!.find((b: any) => b.type === 'section' && b.text) as any;
      assert.equal(description.text.text.length, 3000);
      assert.ok(description.text.text.startsWith('&lt;xxx'));
      assert.ok(description.text.text.endsWith(TRUNCATION_MARKER));
    });

    it('cuts a long title to the 150-character header limit and keeps the fallback text short', () => {
      const m = buildMessage(ctx({ title: huge }), channelConfig(), 'post');
      assert.equal(blockOf(m.blocks, 'header').text.text.length, 150);
      assert.ok(m.text.length <= 4000, 'within the 4,000 Slack recommends for text');
      const reply = buildMessage(ctx({ title: huge, updateMessage: huge }), channelConfig(), 'reply');
      assert.ok((reply.blocks![0] as any).text.text.length <= 3000);
    });

    it('keeps each field within its limit and the whole card well under the block size Slack accepts', () => {
      const m = buildMessage(ctx({ title: huge, description: huge, severity: huge, status: huge, systemNames: [huge, huge] }), channelConfig(), 'post');
      const facts = m.blocks!.find((b: any) => b.fields) as any;
      for (const f of facts.fields) assert.ok(f.text.length <= 2000);
      assert.ok(allText(m.blocks).length < 12_000, `${allText(m.blocks).length}`);
    });

    it('never sends more than 50 blocks, saying the rest was cut', () => {
      const blocks = Array.from({ length: 60 }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `${i}` } }));
      const capped = capBlocks(blocks);
      assert.equal(capped.length, 50);
      assert.equal((capped[49] as any).elements[0].text, '… (truncated)');
    });

    it('cuts a rendered template to the 40,000-character text limit', () => {
      const m = buildMessage(ctx({ title: huge }), channelConfig({ template: '{{payload.title}}' }), 'post');
      assert.equal(m.text.length, 40_000);
      assert.ok(m.text.endsWith(TRUNCATION_MARKER));
    });
  });

  describe('templates', () => {
    it('renders mrkdwn over the payload, escaping values in double and triple braces alike', () => {
      const text = renderMrkdwnTemplate('*{{payload.title}}* {{{payload.title}}} for {{subscription.name}}', ctx({ title: '<!channel> & co' }));
      assert.equal(text, '*&lt;!channel&gt; &amp; co* &lt;!channel&gt; &amp; co for Ops');
    });

    it('sends a template as text only, and clears old blocks when editing', () => {
      const config = channelConfig({ template: 'Incident {{payload.incidentId}}', mentions: ['U0LEAD'] });
      assert.deepEqual(buildMessage(ctx({ incidentId: 'inc_1' }), config, 'post'), { text: '<@U0LEAD> Incident inc_1' });
      assert.deepEqual(buildMessage(ctx({ incidentId: 'inc_1' }), config, 'update'), { text: 'Incident inc_1', blocks: [] });
    });
  });
});
