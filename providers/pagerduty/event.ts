import { summarise, truncate } from '../shared/format';
import { subjectDedupKey } from '../shared/subject-key';
import type { DeliveryContext } from '../types';
import { DEDUP_KEY_MAX, SUMMARY_MAX, type PagerdutyConfig } from './config';

export type PagerdutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerdutySeverity = 'critical' | 'error' | 'warning' | 'info';

const SEVERITIES: Record<string, PagerdutySeverity> = { critical: 'critical', major: 'error', minor: 'warning', info: 'info' };

/** The hub's severity as PagerDuty's; unknown or absent ones take the configured default. */
export function pagerdutySeverity(severity: string | undefined, fallback: PagerdutySeverity): PagerdutySeverity {
  return (severity && SEVERITIES[severity.toLowerCase()]) || fallback;
}

/**
 * What this attempt asks of PagerDuty: a resolving event resolves, a follow-up acknowledges when so
 * configured, everything else triggers (a trigger on an open dedup_key updates that alert).
 */
function pagerdutyAction(ctx: Pick<DeliveryContext, 'event' | 'followUp' | 'test'>, config: Pick<PagerdutyConfig, 'followUpAction'>): PagerdutyAction {
  if (ctx.test) return 'trigger';
  if (ctx.event.resolves) return 'resolve';
  if (ctx.followUp && config.followUpAction === 'acknowledge') return 'acknowledge';
  return 'trigger';
}

type EventContext = Pick<DeliveryContext<PagerdutyConfig>, 'event' | 'followUp' | 'test' | 'deliveryId' | 'config'>;

/** The Events API v2 body for this attempt (the routing key is added by the caller). */
export function buildPagerdutyEvent(ctx: EventContext): { event_action: PagerdutyAction; dedup_key: string; [k: string]: unknown } {
  const action = pagerdutyAction(ctx, ctx.config);
  const dedup_key = ctx.followUp?.externalId ?? subjectDedupKey(ctx, DEDUP_KEY_MAX);
  if (action !== 'trigger') return { event_action: action, dedup_key };
  const s = summarise(ctx);
  const label = s.severity ? `[${s.severity.toUpperCase()}] ` : '';
  const summary = truncate(`${s.test ? 'Test: ' : ''}${label}${s.title}${s.status ? ` (${s.status})` : ''}`, SUMMARY_MAX);
  return {
    event_action: action,
    dedup_key,
    payload: {
      summary,
      source: truncate(ctx.config.source ?? s.systems[0] ?? 'integrations-hub', 255),
      severity: pagerdutySeverity(s.severity, ctx.config.defaultSeverity),
      timestamp: s.occurredAt,
      ...(ctx.config.component ? { component: ctx.config.component } : {}),
      ...(ctx.config.group ? { group: ctx.config.group } : {}),
      class: ctx.event.type,
      custom_details: {
        event: s.eventName,
        ...(s.description ? { description: s.description } : {}),
        ...(s.systems.length ? { systems: s.systems } : {}),
        payload: ctx.event.payload,
      },
    },
    client: 'Integrations Hub',
    ...(s.url ? { client_url: s.url, links: [{ href: s.url, text: 'Open in the status page' }] } : {}),
  };
}
