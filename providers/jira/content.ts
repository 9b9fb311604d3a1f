import { summarise, truncate, TRUNCATION_MARKER, type EventSummary } from '../shared/format';
import type { DeliveryContext } from '../types';
import { buildTemplateView, TemplateError, type TemplateView } from '../shared/template';
import type { RichText } from './client';
import { SUMMARY_MAX, TEXT_FIELD_MAX, type JiraConfig } from './config';
import { renderBlocks, richTextSize, textBlocks, type AdfNode, type Block } from './document';
import { renderJiraTemplate } from './template';

/** A description, comment or multi-line field value: an ADF document (Cloud) or a wiki string (Data Center). */
export type RichValue = AdfNode | string;

const MAX_SYSTEMS = 50;
const NAME_MAX = 200;
const SINGLE_LINE_MAX = 255;

/** The issue summary: the template (one line) or "[SEVERITY] title"; "[Test]" first for test sends; at most 255 characters. */
export function issueSummary(ctx: DeliveryContext<JiraConfig>): string {
  const s = summarise(ctx);
  const fromTemplate = ctx.config.summaryTemplate ? renderJiraTemplate(ctx.config.summaryTemplate, view(ctx), 'line') : '';
  let text = fromTemplate.replace(/\s+/g, ' ').trim();
  // Jira refuses an empty summary: a template whose values are all missing falls back to the default
  // Jira refuses a summary with a line break ("The summary is invalid because it contains newline characters")
  if (!text) text = (s.severity ? `[${s.severity.toUpperCase()}] ${s.title}` : s.title).replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return truncate(ctx.test ? `[Test] ${text}` : text, SUMMARY_MAX);
}

/** The description of a new issue; `replaces` names an issue that was deleted and this one stands in for. */
export function issueDescription(ctx: DeliveryContext<JiraConfig>, format: RichText, replaces?: string): RichValue {
  const s = summarise(ctx);
  const before: Block[] = [];
  if (ctx.test) before.push([{ text: 'Test delivery of the example event: nothing happened.', strong: true }]);
  if (replaces) before.push([{ text: `This issue replaces ${replaces}, which no longer exists or can no longer be seen.` }]);
  const footer: Block = [{ text: `Sent by Integrations Hub for the subscription "${ctx.subscription.name}" (event ${ctx.event.id}).` }];
  if (ctx.config.descriptionTemplate) {
    return templated(ctx, ctx.config.descriptionTemplate, format, before, []);
  }
  const head = [...before, headline(s, ctx.event.payload), ...optional(systemsBlock(s))];
  const tail = [...optional(linkBlock(s)), footer];
  return fit(s.description ?? '', (text) => renderBlocks([...head, ...textBlocks(text), ...tail], format));
}

/** The comment a follow-up event posts; `note` reports what happened to the issue (moved to Done, or why not). */
export function commentBody(ctx: DeliveryContext<JiraConfig>, format: RichText, note?: string): RichValue {
  const s = summarise(ctx);
  const before: Block[] = ctx.test ? [[{ text: 'Test delivery of the example event: nothing happened.', strong: true }]] : [];
  const after: Block[] = note ? [[{ text: note }]] : [];
  if (ctx.config.commentTemplate) return templated(ctx, ctx.config.commentTemplate, format, before, after);
  const head = [...before, headline(s, ctx.event.payload)];
  const tail = [...optional(systemsBlock(s)), ...optional(linkBlock(s)), ...after];
  return fit(s.description ?? '', (text) => renderBlocks([...head, ...textBlocks(text), ...tail], format));
}

/** Values of the mapped custom fields; a template that renders empty leaves its field out. */
export function customFields(ctx: DeliveryContext<JiraConfig>, format: RichText): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const mapping of ctx.config.fieldMappings ?? []) {
    if (mapping.type === 'document') {
      const value = templated(ctx, mapping.template, format, [], []);
      if (typeof value === 'string' ? value.trim() !== '' : !!value.content?.length) fields[mapping.fieldKey] = value;
      continue;
    }
    const line = renderJiraTemplate(mapping.template, view(ctx), 'line').replace(/\s+/g, ' ').trim();
    if (!line) continue;
    if (mapping.type === 'number') {
      const n = Number(line);
      if (!Number.isFinite(n)) throw new TemplateError(`fieldMappings ${mapping.fieldKey}: the template did not render a number`);
      fields[mapping.fieldKey] = n;
    } else {
      const text = truncate(line, SINGLE_LINE_MAX);
      fields[mapping.fieldKey] = mapping.type === 'option' ? { value: text } : text;
    }
  }
  return fields;
}

/** The `fields` of POST /issue. */
export function issueFields(ctx: DeliveryContext<JiraConfig>, format: RichText, replaces?: string): Record<string, unknown> {
  const { config } = ctx;
  return {
    ...customFields(ctx, format),
    project: { key: config.projectKey },
    issuetype: config.issueTypeId ? { id: config.issueTypeId } : { name: config.issueTypeName },
    summary: issueSummary(ctx),
    description: issueDescription(ctx, format, replaces),
    ...(config.priorityId ? { priority: { id: config.priorityId } } : {}),
    ...(config.labels?.length ? { labels: config.labels } : {}),
  };
}

function view(ctx: DeliveryContext<JiraConfig>): TemplateView {
  return buildTemplateView(ctx);
}

/** A rendered text/wiki template with extra paragraphs around it, cut to Jira's limit. */
function templated(ctx: DeliveryContext<JiraConfig>, template: string, format: RichText, before: Block[], after: Block[]): RichValue {
  if (format === 'adf') {
    const text = renderJiraTemplate(template, view(ctx), 'text');
    return fit(text, (t) => renderBlocks([...before, ...textBlocks(t), ...after], 'adf'));
  }
  const wiki = renderJiraTemplate(template, view(ctx), 'wiki');
  const wrap = (blocks: Block[]) => renderBlocks(blocks, 'wiki') as string;
  return fit(wiki, (t) => [wrap(before), t.trim(), wrap(after)].filter(Boolean).join('\n\n'), truncateWiki);
}

/** "Incident created · Severity: major · Status: investigating" with the event name in bold. */
function headline(s: EventSummary, payload: Record<string, unknown>): Block {
  const facts: string[] = [];
  if (s.severity) facts.push(`Severity: ${s.severity}`);
  if (s.status) facts.push(`Status: ${s.status}`);
  const window = [payload.startsAt, payload.endsAt].filter((v): v is string => typeof v === 'string' && !!v);
  if (window.length === 2) facts.push(`Window: ${window[0]} to ${window[1]}`);
  return [{ text: s.eventName, strong: true }, ...(facts.length ? [{ text: ` · ${facts.join(' · ')}` }] : [])];
}

function systemsBlock(s: EventSummary): Block | undefined {
  if (s.systems.length === 0) return undefined;
  const names = s.systems.slice(0, MAX_SYSTEMS).map((name) => truncate(name, NAME_MAX));
  const more = s.systems.length > MAX_SYSTEMS ? ` and ${s.systems.length - MAX_SYSTEMS} more` : '';
  return [{ text: 'Systems: ', strong: true }, { text: names.join(', ') + more }];
}

function linkBlock(s: EventSummary): Block | undefined {
  return s.url ? [{ text: 'Open in the status platform', href: s.url }] : undefined;
}

function optional(block: Block | undefined): Block[] {
  return block ? [block] : [];
}

/**
 * Renders with the long text cut just enough for the result to fit Jira's 32,767-character limit.
 * Escaping and ADF structure count too and grow unevenly, so the longest fitting cut is found by
 * measuring (a binary search: about 17 renders for 100,000 characters).
 */
function fit(longText: string, render: (text: string) => RichValue, cut: (text: string, max: number) => string = truncate): RichValue {
  const full = render(longText);
  if (richTextSize(full) <= TEXT_FIELD_MAX) return full;
  let lo = 0;
  let hi = longText.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (richTextSize(render(cut(longText, mid))) <= TEXT_FIELD_MAX) lo = mid;
    else hi = mid - 1;
  }
  return render(cut(longText, lo));
}

/** Cuts wiki markup without leaving half an escape ("\" or "&#9") before the marker. */
function truncateWiki(text: string, max: number): string {
  const cut = truncate(text, max);
  if (cut === text) return cut;
  const body = cut.slice(0, cut.length - TRUNCATION_MARKER.length).replace(/(\\|&#?9?2?)$/, '');
  return body + TRUNCATION_MARKER;
}
