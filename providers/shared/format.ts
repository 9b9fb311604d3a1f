import type { DeliveryContext } from '../types';

/** What a chat or ticket message says about an event, read from the payload's common fields. */
export interface EventSummary {
  /** e.g. "Database primary down"; falls back to the event's display name. */
  title: string;
  /** e.g. "Incident created". */
  eventName: string;
  eventType: string;
  severity?: string;
  status?: string;
  systems: string[];
  /** A link back to the platform, when the payload has one (http/https only). */
  url?: string;
  /** The longest human text the payload carries for this event. */
  description?: string;
  resolves: boolean;
  test: boolean;
  occurredAt: string;
}

const TEXT_FIELDS = ['updateMessage', 'resolutionMessage', 'completionMessage', 'message', 'description'] as const;

/** Reads the usual payload fields (title, severity, status, systems, url, description) of any event. */
export function summarise(ctx: Pick<DeliveryContext, 'event' | 'test'>): EventSummary {
  const p = ctx.event.payload;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const url = str(p.url);
  const systemNames = Array.isArray(p.systemNames) ? p.systemNames.filter((x): x is string => typeof x === 'string') : [];
  return {
    title: str(p.title) ?? str(p.systemName) ?? ctx.event.displayName,
    eventName: ctx.event.displayName,
    eventType: ctx.event.type,
    severity: str(p.severity),
    status: str(p.status) ?? str(p.state),
    systems: systemNames.length ? systemNames : ctx.event.systemIds,
    url: url && /^https?:\/\//i.test(url) ? url : undefined,
    description: TEXT_FIELDS.map((k) => str(p[k])).find(Boolean),
    resolves: ctx.event.resolves,
    test: ctx.test,
    occurredAt: ctx.event.occurredAt,
  };
}

/** Marker appended when a text is cut to fit a provider's limit. */
export const TRUNCATION_MARKER = '… (truncated)';

/**
 * Cuts `text` to at most `max` characters (UTF-16 code units, as most APIs count), ending with the
 * marker; never splits a surrogate pair.
 */
export function truncate(text: string, max: number, marker = TRUNCATION_MARKER): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - marker.length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + marker;
}

/** A colour per severity for cards and attachments (hex without '#'). */
export function severityColor(severity: string | undefined, resolves: boolean): string {
  if (resolves) return '2EB67D';
  switch (severity) {
    case 'critical':
      return 'E01E5A';
    case 'major':
      return 'ECB22E';
    case 'minor':
      return '36C5F0';
    default:
      return '8D8D8D';
  }
}
