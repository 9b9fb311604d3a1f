import { z } from 'zod';
import { templateField } from '../shared/template';
import { secretMeta } from '../shared/secret-field';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Jira's limits: summary 255 characters; description, comments and text fields 32,767. */
export const SUMMARY_MAX = 255;
export const TEXT_FIELD_MAX = 32_767;

/** Fields the provider sets itself; a field mapping may not override them. */
const RESERVED_FIELDS: ReadonlySet<string> = new Set(['project', 'issuetype', 'summary', 'description', 'priority', 'labels']);

const baseUrl = z
  .string()
  .max(2048)
  .refine(isJiraBaseUrl, 'must be an http(s) URL without credentials, query or fragment, e.g. https://example.atlassian.net')
  .transform((url) => url.replace(/\/+$/, ''))
  .describe('Site URL, e.g. https://example.atlassian.net or https://jira.example.com/jira (a context path is kept)');

// Secrets become header values, so a line break would split the request.
const secret = (description: string) =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters')
    .meta(secretMeta({ boundTo: ['baseUrl'] }))
    .describe(description);

/**
 * Shared Jira credentials. Cloud: REST v3, Basic email:API token, rich text as ADF.
 * Data Center: REST v2, Bearer personal access token, rich text as wiki markup.
 */
export const jiraConnectionSchema = z.discriminatedUnion('flavor', [
  z.strictObject({
    flavor: z.literal('cloud'),
    baseUrl,
    email: z
      .string()
      .min(3)
      .max(320)
      .refine((v) => v.includes('@') && !v.includes(':') && !CONTROL_CHARS.test(v), 'must be the Atlassian account email')
      .describe('Atlassian account email the API token belongs to'),
    apiToken: secret('API token from id.atlassian.com/manage-profile/security/api-tokens'),
  }),
  z.strictObject({
    flavor: z.literal('datacenter'),
    baseUrl,
    personalAccessToken: secret('Personal access token (Jira 8.14+): Profile > Personal Access Tokens'),
  }),
]);

/** A parsed Jira connection. */
export type JiraConnection = z.output<typeof jiraConnectionSchema>;

const template = (max: number, description: string) => templateField(max).describe(description);

const fieldMapping = z.strictObject({
  fieldKey: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'must be a Jira field id such as customfield_10010')
    .refine((key) => !RESERVED_FIELDS.has(key), 'is set by the provider itself; use its own config field')
    .meta({ 'x-options-resolver': 'fields' })
    .describe('Custom field id, e.g. customfield_10010'),
  template: template(TEXT_FIELD_MAX, 'Mustache template of the value, e.g. {{payload.incidentId}}'),
  type: z
    .enum(['text', 'number', 'option', 'document'])
    .default('text')
    .describe('text: a string; number; option: a select list value {"value": ...}; document: a multi-line rich text field'),
});

/** Config of one Jira subscription (the site and credentials live in the connection). */
export const jiraConfigSchema = z
  .strictObject({
    projectKey: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Z][A-Z0-9_]*$/, 'must be a Jira project key such as OPS')
      .meta({ 'x-options-resolver': 'projects' })
      .describe('Project key, e.g. OPS'),
    issueTypeId: z
      .string()
      .regex(/^\d{1,18}$/, 'must be a numeric issue type id')
      .optional()
      .meta({ 'x-options-resolver': 'issueTypes', 'x-depends-on': ['projectKey'] })
      .describe('Issue type id, e.g. 10001 (or give the issue type by name below)'),
    issueTypeName: z.string().min(1).max(255).optional().describe('Issue type by name, e.g. Task (instead of issueTypeId)'),
    summaryTemplate: template(2048, 'Issue summary; default "[<severity>] <title>". Cut to 255 characters').optional(),
    descriptionTemplate: template(
      TEXT_FIELD_MAX,
      'Issue description; plain text on Cloud, wiki markup on Data Center (values are escaped). Default: a formatted summary of the event',
    ).optional(),
    commentTemplate: template(TEXT_FIELD_MAX, 'Comment posted for follow-up events; same rules as descriptionTemplate').optional(),
    priorityId: z
      .string()
      .regex(/^\d{1,18}$/, 'must be a numeric priority id')
      .optional()
      .meta({ 'x-options-resolver': 'priorities' })
      .describe('Priority id, e.g. 3'),
    labels: z
      .array(z.string().min(1).max(255).regex(/^\S+$/, 'Jira labels cannot contain spaces'))
      .max(50)
      .optional(),
    fieldMappings: z.array(fieldMapping).max(50).optional().describe('Custom fields set on the new issue'),
    doneStatus: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('Status a resolving event moves the issue to; default: the first transition into the "done" status category'),
  })
  .superRefine((config, ctx) => {
    if ((config.issueTypeId === undefined) === (config.issueTypeName === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['issueTypeId'], message: 'give exactly one of issueTypeId and issueTypeName' });
    }
    const seen = new Set<string>();
    config.fieldMappings?.forEach((mapping, i) => {
      if (seen.has(mapping.fieldKey)) ctx.addIssue({ code: 'custom', path: ['fieldMappings', i, 'fieldKey'], message: `${mapping.fieldKey} is mapped twice` });
      seen.add(mapping.fieldKey);
    });
  });

/** A parsed, defaulted Jira subscription config. */
export type JiraConfig = z.output<typeof jiraConfigSchema>;

/** True for an absolute http(s) URL with no credentials, query or fragment. */
function isJiraBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.search && !url.hash && !value.includes('?') && !value.includes('#');
  } catch {
    return false;
  }
}

/** The site as follow-ups key it: origin lower-cased, context path kept, no trailing slash. */
export function siteKey(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.origin.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseUrl.replace(/\/+$/, '');
  }
}
