import * as Mustache from 'mustache';
import { TemplateError, type TemplateView } from '../shared/template';
import { cleanText, escapeWiki } from './document';

/**
 * Where a rendered Jira template goes: `line` a single-line field (summary, text custom fields),
 * `text` plain multi-line text (becomes ADF paragraphs on Cloud), `wiki` wiki markup (Data Center).
 */
export type JiraTemplateTarget = 'line' | 'text' | 'wiki';

/** A value as people read it: strings as they are, lists of plain values joined with commas, objects as JSON. */
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return value.map((v) => String(v ?? '')).join(', ');
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

const ESCAPERS: Record<JiraTemplateTarget, (value: unknown) => string> = {
  line: (value) => asText(value).replace(/[\u0000-\u001f\u007f]+/g, ' '),
  text: (value) => cleanText(asText(value)),
  wiki: (value) => escapeWiki(cleanText(asText(value))),
};

/** `{{x}}` escapes for the target; `{{{x}}}` writes wiki markup from the payload as it is (still without control characters). */
class JiraWriter extends Mustache.Writer {
  constructor(private readonly raw: (value: unknown) => string) {
    super();
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : this.raw(value);
  }
}

/**
 * Renders a subscription template over the view from providers/shared/template.ts (event, payload, deliveryId,
 * subscription; never the config). Throws TemplateError, whose message holds no values.
 */
export function renderJiraTemplate(template: string, view: TemplateView, target: JiraTemplateTarget): string {
  const escape = ESCAPERS[target];
  const raw = target === 'wiki' ? ESCAPERS.text : escape;
  try {
    return new JiraWriter(raw).render(template, view, undefined, { escape });
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
    throw new TemplateError(`template could not be rendered: ${reason}`);
  }
}
