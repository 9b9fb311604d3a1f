import { summarise, truncate } from '../shared/format';
import type { DeliveryContext } from '../types';
import { DESCRIPTION_MAX, MESSAGE_MAX, NOTE_MAX, type OpsgenieConfig } from './config';

const PRIORITIES: Record<string, string> = { critical: 'P1', major: 'P2', minor: 'P3', info: 'P5' };
const SOURCE = 'Integrations Hub';

type AlertContext = Pick<DeliveryContext<OpsgenieConfig>, 'event' | 'test' | 'config'>;

/** The hub's severity as an Opsgenie priority; unknown or absent ones take the configured default. */
export function opsgeniePriority(severity: string | undefined, fallback: string): string {
  return (severity && PRIORITIES[severity.toLowerCase()]) || fallback;
}

/** Details are a flat string map in Opsgenie: scalars as text, the rest as JSON. */
function details(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined || v === null) continue;
    out[k.slice(0, 100)] = truncate(typeof v === 'string' ? v : JSON.stringify(v), 1000);
  }
  return out;
}

/** `POST /v2/alerts` body. */
export function buildAlert(ctx: AlertContext, alias: string): Record<string, unknown> {
  const s = summarise(ctx);
  const description = [
    s.eventName + (s.status ? ` · Status: ${s.status}` : ''),
    s.systems.length ? `Systems: ${s.systems.join(', ')}` : undefined,
    s.description,
    s.url,
  ]
    .filter(Boolean)
    .join('\n\n');
  return {
    message: truncate(`${s.test ? 'Test: ' : ''}${s.title}`, MESSAGE_MAX),
    alias,
    description: truncate(description, DESCRIPTION_MAX),
    priority: opsgeniePriority(s.severity, ctx.config.defaultPriority),
    tags: [...new Set([...ctx.config.tags, ctx.event.type])],
    details: details(ctx.event.payload),
    ...(s.systems.length ? { entity: truncate(s.systems.join(', '), 512) } : {}),
    ...(ctx.config.team ? { responders: [{ type: 'team', name: ctx.config.team }] } : {}),
    source: SOURCE,
  };
}

/** `POST /v2/alerts/{alias}/notes|close` body: what changed, as one note. */
export function buildNote(ctx: AlertContext): Record<string, unknown> {
  const s = summarise(ctx);
  const head = `${s.eventName}: ${s.title}${s.status ? ` (${s.status})` : ''}`;
  return { note: truncate([head, s.description, s.url].filter(Boolean).join('\n'), NOTE_MAX), source: SOURCE, user: SOURCE };
}
