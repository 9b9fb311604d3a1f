import { createHash } from 'node:crypto';
import * as Mustache from 'mustache';
import { severityColor, summarise, truncate } from '../shared/format';
import type { DeliveryContext } from '../types';
import { TemplateError, buildTemplateView } from '../shared/template';
import type { EmailConfig, EmailConnection } from './config';

type MessageContext = Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription' | 'test' | 'followUp'>;

/** The parts of one mail that depend on the event: subject, text and HTML, and its threading headers. */
export interface ComposedMail {
  subject: string;
  text: string;
  html: string;
  /** `<…@domain>`; stable across retries of a delivery, so receivers can drop duplicates. */
  messageId: string;
  /** The Message-ID of the subject's first mail, for a follow-up. */
  inReplyTo?: string;
}

const MAX_SUBJECT_CHARS = 250;

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

class ValueWriter extends Mustache.Writer {
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : asText(value);
  }
}

/** Renders one template; `escape` encodes `{{x}}` values. Throws TemplateError naming the field, never a value. */
function renderMailTemplate(field: string, template: string, ctx: MessageContext, escape: (v: string) => string): string {
  try {
    return new ValueWriter().render(template, buildTemplateView(ctx), undefined, { escape: (v: unknown) => escape(asText(v)) });
  } catch (err) {
    throw new TemplateError(`${field} could not be rendered: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
  }
}

/** A header value on one line: control characters (CR/LF above all) folded into spaces. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** The domain part of an address, for Message-IDs. */
function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** `<dlv-….<hash>@domain>`: one per delivery (the same on every retry). */
export function messageIdFor(deliveryId: string, from: string): string {
  const local = deliveryId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'delivery';
  const salt = createHash('sha256').update(deliveryId).digest('hex').slice(0, 8);
  return `<${local}.${salt}@${domainOf(from)}>`;
}

/** True for a Message-ID as this provider writes it (and as the record stores it). */
function isMessageId(value: string): boolean {
  return /^<[^<>\s@]+@[^<>\s@]+>$/.test(value);
}

/**
 * Composes the mail for one attempt: the subject (templated or the title; "Re: " on follow-ups), HTML and
 * text parts (templated or the default summary), and its Message-ID and In-Reply-To. Throws TemplateError.
 */
export function composeMail(ctx: MessageContext, config: EmailConfig, connection: Pick<EmailConnection, 'from'>): ComposedMail {
  const s = summarise(ctx);
  const base = config.subjectTemplate ? renderMailTemplate('subjectTemplate', config.subjectTemplate, ctx, (v) => v) : s.title;
  const subjectText = oneLine(base);
  if (!subjectText) throw new TemplateError('subjectTemplate rendered to an empty subject');
  const prior = ctx.followUp && isMessageId(ctx.followUp.externalId) ? ctx.followUp.externalId : undefined;
  const subject = truncate(`${prior ? 'Re: ' : ''}${ctx.test ? 'Test: ' : ''}${subjectText}`, MAX_SUBJECT_CHARS);

  const label = s.resolves ? 'Resolved: ' : s.severity ? `[${s.severity.toUpperCase()}] ` : '';
  const heading = `${ctx.test ? 'Test: ' : ''}${label}${s.title}`;
  const facts: [string, string][] = [['Event', s.eventName]];
  if (s.severity) facts.push(['Severity', s.severity]);
  if (s.status) facts.push(['Status', s.status]);
  if (s.systems.length) facts.push(['Systems', s.systems.join(', ')]);
  facts.push(['When', s.occurredAt]);

  const text = config.textTemplate
    ? renderMailTemplate('textTemplate', config.textTemplate, ctx, (v) => v)
    : [heading, '', ...facts.map(([k, v]) => `${k}: ${v}`), ...(s.description ? ['', s.description] : []), ...(s.url ? ['', `View details: ${s.url}`] : [])].join('\n');
  const html = config.htmlTemplate
    ? renderMailTemplate('htmlTemplate', config.htmlTemplate, ctx, escapeHtml)
    : defaultHtml(heading, facts, s.description, s.url, severityColor(s.severity, s.resolves));
  return { subject, text, html, messageId: messageIdFor(ctx.deliveryId, connection.from), ...(prior ? { inReplyTo: prior } : {}) };
}

function defaultHtml(heading: string, facts: [string, string][], description: string | undefined, url: string | undefined, color: string): string {
  const rows = facts.map(([k, v]) => `<tr><td style="padding:2px 12px 2px 0;color:#555">${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('');
  const body = description ? `<p style="white-space:pre-wrap">${escapeHtml(description)}</p>` : '';
  const link = url ? `<p><a href="${escapeHtml(url)}">View details</a></p>` : '';
  return (
    '<!doctype html><html><body style="font-family:Arial,sans-serif;font-size:14px">' +
    `<h2 style="border-left:6px solid #${color};padding-left:8px">${escapeHtml(heading)}</h2>` +
    `<table>${rows}</table>${body}${link}</body></html>`
  );
}
