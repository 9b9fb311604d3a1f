import assert from 'node:assert/strict';
import { z } from 'zod';
import { TRUNCATION_MARKER } from '../../providers/shared/format';
import { jiraConfigSchema, jiraConnectionSchema, jiraProvider, validateJiraConfig, type JiraConfig } from '../../providers/jira';
import { commentBody, customFields, issueDescription, issueFields, issueSummary } from '../../providers/jira/content';
import { escapeWiki, textBlocks, toAdf, toWiki } from '../../providers/jira/document';
import type { DeliveryContext, DeliveryEvent, GuardedHttpClient } from '../../providers/types';
import { TemplateError } from '../../providers/shared/template';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';
import { isAdfDoc, plainText } from '../fakes/jira';

const noHttp: GuardedHttpClient = { request: () => Promise.reject(new Error('no HTTP in this test')) };

const EVENT: DeliveryEvent = {
  id: 'evt_42',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-checkout-api', 'sys-payments'],
  payload: {
    incidentId: 'inc_1',
    title: 'Checkout API returning 502s',
    description: 'Error rate rose above 20%.\nRolled back at 14:10.\n\nWatching.',
    severity: 'major',
    status: 'investigating',
    url: 'https://status.example.com/incidents/inc_1',
    systemIds: ['sys-checkout-api', 'sys-payments'],
  },
  subject: 'inc_1',
  resolves: false,
};

function ctx(config: Partial<JiraConfig> = {}, event: Partial<DeliveryEvent> = {}, extra: Partial<DeliveryContext<JiraConfig>> = {}): DeliveryContext<JiraConfig> {
  return {
    deliveryId: 'dlv_1',
    attempt: 1,
    event: { ...EVENT, ...event, payload: { ...EVENT.payload, ...event.payload } },
    subscription: { id: 'sub_1', name: 'Ops tickets' },
    config: jiraConfigSchema.parse({ projectKey: 'OPS', issueTypeId: '10001', ...config }),
    test: false,
    redelivery: false,
    http: noHttp,
    ...extra,
  };
}

describe('jira content', () => {
  describe('summary', () => {
    it('defaults to "[SEVERITY] title"', () => {
      assert.equal(issueSummary(ctx()), '[MAJOR] Checkout API returning 502s');
    });

    it('keeps the default on one line: Jira refuses a summary with a line break', () => {
      const c = ctx({}, { payload: { title: 'Checkout down\r\nsince 14:00\u0007 ' } });
      assert.equal(issueSummary(c), '[MAJOR] Checkout down since 14:00');
    });

    it('renders the template on one line, control characters as spaces', () => {
      const c = ctx({ summaryTemplate: '{{payload.incidentId}}: {{payload.title}}' }, { payload: { title: 'two\nlines\tand\u0007bell' } });
      assert.equal(issueSummary(c), 'inc_1: two lines and bell');
    });

    it('falls back to the default when the template renders empty, and marks test sends', () => {
      assert.equal(issueSummary(ctx({ summaryTemplate: '{{payload.missing}}' })), '[MAJOR] Checkout API returning 502s');
      assert.equal(issueSummary(ctx({}, {}, { test: true })), '[Test] [MAJOR] Checkout API returning 502s');
    });

    it('cuts a long summary to Jira\'s 255 characters with the marker', () => {
      const s = issueSummary(ctx({}, { payload: { title: 'x'.repeat(400) } }));
      assert.equal(s.length, 255);
      assert.ok(s.endsWith(TRUNCATION_MARKER));
    });
  });

  describe('ADF description (Cloud)', () => {
    it('holds the event name in bold with severity and status, the systems, the text, a link and a footer', () => {
      const doc = issueDescription(ctx(), 'adf') as any;
      assert.ok(isAdfDoc(doc), JSON.stringify(doc));
      assert.deepEqual(doc.content[0].content, [
        { type: 'text', text: 'Incident created', marks: [{ type: 'strong' }] },
        { type: 'text', text: ' · Severity: major · Status: investigating' },
      ]);
      assert.equal(plainText({ content: [doc.content[1]] }), 'Systems: sys-checkout-api, sys-payments');
      // one paragraph per blank-line block, single newlines as hard breaks
      assert.deepEqual(doc.content[2].content, [
        { type: 'text', text: 'Error rate rose above 20%.' },
        { type: 'hardBreak' },
        { type: 'text', text: 'Rolled back at 14:10.' },
      ]);
      assert.deepEqual(doc.content[3].content, [{ type: 'text', text: 'Watching.' }]);
      assert.deepEqual(doc.content[4].content, [
        { type: 'text', text: 'Open in the status platform', marks: [{ type: 'link', attrs: { href: 'https://status.example.com/incidents/inc_1' } }] },
      ]);
      assert.match(plainText({ content: [doc.content[5]] }), /subscription "Ops tickets" \(event evt_42\)/);
    });

    it('leaves out the link for a non-http url and never writes empty text runs', () => {
      const doc = issueDescription(ctx({}, { payload: { url: 'javascript:alert(1)', description: '\n\n \n' } }), 'adf') as any;
      assert.ok(isAdfDoc(doc));
      assert.ok(!JSON.stringify(doc).includes('javascript:'));
    });

    it('stays within 32,767 characters of JSON for a huge description, ending with the marker', () => {
      const doc = issueDescription(ctx({}, { payload: { description: '"quoted"\n'.repeat(20_000) } }), 'adf');
      const size = JSON.stringify(doc).length;
      assert.ok(size <= 32_767, `${size}`);
      assert.ok(size > 30_000, `cut no more than needed: ${size}`);
      assert.ok(plainText(doc).includes(TRUNCATION_MARKER));
    });

    it('renders a description template as plain-text paragraphs', () => {
      const doc = issueDescription(ctx({ descriptionTemplate: 'Incident {{payload.incidentId}}\nSystems: {{payload.systemIds}}\n\n{{{payload.title}}}' }), 'adf');
      assert.ok(isAdfDoc(doc));
      assert.equal(plainText(doc), 'Incident inc_1\nSystems: sys-checkout-api, sys-payments\n\nCheckout API returning 502s');
    });
  });

  describe('wiki markup (Data Center)', () => {
    it('escapes every markup character and writes backslashes as entities', () => {
      assert.equal(escapeWiki('a*b_c{d}[e]|f!g#h-i+j^k~l?m\\n'), 'a\\*b\\_c\\{d\\}\\[e\\]\\|f\\!g\\#h\\-i\\+j\\^k\\~l\\?m&#92;n');
    });

    it('writes bold, links and line breaks, with payload text unable to add markup', () => {
      const wiki = issueDescription(ctx({}, { payload: { title: 't', description: 'see [evil|http://x] *now*\n{code}' } }), 'wiki') as string;
      assert.equal(typeof wiki, 'string');
      assert.ok(wiki.startsWith('*Incident created* · Severity: major · Status: investigating\n\n*Systems:* sys\\-checkout\\-api, sys\\-payments'), wiki);
      assert.ok(wiki.includes('see \\[evil\\|http://x\\] \\*now\\*\n\\{code\\}'), wiki);
      assert.ok(wiki.includes('[Open in the status platform|https://status.example.com/incidents/inc_1]'), wiki);
    });

    it('escapes {{values}} in a wiki template but writes {{{values}}} as markup', () => {
      const wiki = issueDescription(ctx({ descriptionTemplate: 'h3. {{payload.title}}\n{{{payload.description}}}' }, { payload: { title: 'a*b', description: '*bold*' } }), 'wiki');
      assert.equal(wiki, 'h3. a\\*b\n*bold*');
    });

    it('stays within 32,767 characters when escaping doubles a long text, without a dangling escape', () => {
      const wiki = issueDescription(ctx({}, { payload: { description: '*'.repeat(40_000) } }), 'wiki') as string;
      assert.ok(wiki.length <= 32_767, `${wiki.length}`);
      assert.ok(wiki.includes(`\\*${TRUNCATION_MARKER}`), 'cut between escapes');
      const templated = issueDescription(ctx({ descriptionTemplate: '{{payload.description}}' }, { payload: { description: '\\'.repeat(20_000) } }), 'wiki') as string;
      assert.ok(templated.length <= 32_767);
      assert.match(templated, /(&#92;)+… \(truncated\)$/);
    });
  });

  describe('comments', () => {
    it('say what changed, the update message and the note', () => {
      const c = ctx({}, { type: 'incident.updated', displayName: 'Incident updated', payload: { status: 'identified', updateMessage: 'Rolled back.' } });
      const doc = commentBody(c, 'adf', 'Moved to Done.');
      assert.ok(isAdfDoc(doc));
      const text = plainText(doc);
      assert.ok(text.startsWith('Incident updated · Severity: major · Status: identified\n\nRolled back.'), text);
      assert.ok(text.endsWith('Moved to Done.'), text);
      assert.equal(commentBody({ ...c, config: { ...c.config, commentTemplate: 'Now {{payload.status}}' } }, 'wiki', 'Moved to Done.'), 'Now identified\n\nMoved to Done.');
    });
  });

  describe('fields', () => {
    it('sets project, issue type (id or name), priority, labels and mapped custom fields of each type', () => {
      const fields = issueFields(
        ctx({
          issueTypeId: undefined,
          issueTypeName: 'Bug',
          priorityId: '2',
          labels: ['incident', 'hub'],
          fieldMappings: [
            { fieldKey: 'customfield_10010', template: '{{payload.incidentId}}', type: 'text' },
            { fieldKey: 'customfield_10020', template: '{{payload.score}}', type: 'number' },
            { fieldKey: 'customfield_10030', template: '{{payload.severity}}', type: 'option' },
            { fieldKey: 'customfield_10040', template: '{{payload.missing}}', type: 'text' },
            { fieldKey: 'customfield_10050', template: 'Line 1\n{{payload.title}}', type: 'document' },
          ],
        }, { payload: { score: 7.5 } }),
        'adf',
      );
      assert.deepEqual(fields.project, { key: 'OPS' });
      assert.deepEqual(fields.issuetype, { name: 'Bug' });
      assert.deepEqual(fields.priority, { id: '2' });
      assert.deepEqual(fields.labels, ['incident', 'hub']);
      assert.equal(fields.customfield_10010, 'inc_1');
      assert.equal(fields.customfield_10020, 7.5);
      assert.deepEqual(fields.customfield_10030, { value: 'major' });
      assert.ok(!('customfield_10040' in fields), 'an empty value is left out');
      assert.ok(isAdfDoc(fields.customfield_10050));
    });

    it('refuses a number field whose template renders text', () => {
      const c = ctx({ fieldMappings: [{ fieldKey: 'customfield_10020', template: '{{payload.title}}', type: 'number' }] });
      assert.throws(() => customFields(c, 'adf'), TemplateError);
    });
  });

  describe('document helpers', () => {
    it('turn plain text into paragraphs with breaks, dropping control characters', () => {
      const blocks = textBlocks('a\r\nb\u0000\n\n\nc');
      assert.deepEqual(toAdf(blocks).content!.length, 2);
      assert.equal(toWiki(blocks), 'a\nb\n\nc');
    });
  });
});

describe('jira schemas', () => {
  const base = { projectKey: 'OPS', issueTypeId: '10001' };

  it('needs exactly one of issueTypeId and issueTypeName', () => {
    assert.ok(jiraConfigSchema.safeParse(base).success);
    assert.ok(!jiraConfigSchema.safeParse({ projectKey: 'OPS' }).success);
    assert.ok(!jiraConfigSchema.safeParse({ ...base, issueTypeName: 'Task' }).success);
  });

  it('rejects labels with spaces, mappings of fields the provider sets, duplicate mappings and unknown keys', () => {
    assert.ok(!jiraConfigSchema.safeParse({ ...base, labels: ['two words'] }).success);
    assert.ok(!jiraConfigSchema.safeParse({ ...base, fieldMappings: [{ fieldKey: 'summary', template: 'x' }] }).success);
    const twice = [{ fieldKey: 'customfield_1', template: 'a' }, { fieldKey: 'customfield_1', template: 'b' }];
    assert.ok(!jiraConfigSchema.safeParse({ ...base, fieldMappings: twice }).success);
    assert.ok(!jiraConfigSchema.safeParse({ ...base, projectKey: 'ops' }).success);
    assert.ok(!jiraConfigSchema.safeParse({ ...base, summaryTemplate: '{{#x}}' }).success, 'template syntax');
    assert.ok(!jiraConfigSchema.safeParse({ ...base, extra: 1 }).success);
  });

  it('takes a Cloud or a Data Center connection and marks both secrets', () => {
    const cloud = jiraConnectionSchema.parse({ flavor: 'cloud', baseUrl: 'https://acme.atlassian.net/', email: 'a@b.c', apiToken: 't0k3n' });
    assert.equal(cloud.baseUrl, 'https://acme.atlassian.net');
    assert.ok(jiraConnectionSchema.safeParse({ flavor: 'datacenter', baseUrl: 'https://jira.acme.test/jira', personalAccessToken: 'p' }).success);
    assert.ok(!jiraConnectionSchema.safeParse({ flavor: 'datacenter', baseUrl: 'https://jira.acme.test', apiToken: 'p' }).success);
    assert.ok(!jiraConnectionSchema.safeParse({ flavor: 'cloud', baseUrl: 'https://u:p@acme.atlassian.net', email: 'a@b.c', apiToken: 't' }).success);
    const schema = z.toJSONSchema(jiraConnectionSchema, { io: 'input', unrepresentable: 'any' });
    assert.deepEqual(secretPathsFromJsonSchema(schema), ['apiToken', 'personalAccessToken']);
  });

  it('keys follow-ups by site and project, whatever the URL\'s case or trailing slash', () => {
    const config = jiraConfigSchema.parse(base);
    const a = jiraProvider.followUpTarget!(config, { flavor: 'cloud', baseUrl: 'https://ACME.atlassian.net/', email: 'a@b.c', apiToken: 't' });
    const b = jiraProvider.followUpTarget!(config, { flavor: 'cloud', baseUrl: 'https://acme.atlassian.net', email: 'x@b.c', apiToken: 'u' });
    assert.equal(a, 'jira:https://acme.atlassian.net:OPS');
    assert.equal(a, b);
  });

  it('flags template paths the event payload can never hold, at the field that has them', () => {
    const schema = { type: 'object', properties: { title: { type: 'string' }, severity: { type: 'string' } }, additionalProperties: false };
    const config = jiraConfigSchema.parse({
      ...base,
      summaryTemplate: '{{payload.titel}}',
      fieldMappings: [{ fieldKey: 'customfield_1', template: '{{payload.severity}} {{payload.nope}}' }],
    });
    const problems = validateJiraConfig(config, { id: 'incident.created', payloadSchema: schema });
    assert.deepEqual(problems.map((p) => p.path), ['config.summaryTemplate', 'config.fieldMappings.0.template']);
    assert.match(problems[0].message, /did you mean "title"/);
  });
});
