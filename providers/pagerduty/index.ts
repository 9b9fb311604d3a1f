import { outcomeFromError } from '../http/outcome';
import { fingerprint } from '../shared/subject-key';
import { trimBase } from '../shared/api-base';
import type { DeliveryContext, DeliveryOutcome, ProviderDefinition } from '../types';
import { classifyPagerdutyResponse } from './classify';
import { pagerdutyConfigSchema, type PagerdutyConfig } from './config';
import { buildPagerdutyEvent } from './event';

export { pagerdutyConfigSchema, type PagerdutyConfig } from './config';

/** One attempt: `POST {apiBaseUrl}/v2/enqueue` with the routing key in the body. */
async function deliverPagerduty(ctx: DeliveryContext<PagerdutyConfig>): Promise<DeliveryOutcome> {
  const secrets = [ctx.config.routingKey];
  const event = buildPagerdutyEvent(ctx);
  try {
    const res = await ctx.http.request({
      method: 'POST',
      url: `${trimBase(ctx.config.apiBaseUrl)}/v2/enqueue`,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ routing_key: ctx.config.routingKey, ...event }),
    });
    const outcome = classifyPagerdutyResponse(res, event.dedup_key, secrets);
    return outcome.kind === 'success' ? { ...outcome, log: `PagerDuty ${event.event_action} dedup_key=${event.dedup_key}` } : outcome;
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}

/** The PagerDuty provider: one alert per incident, maintenance or system, resolved when it ends. */
export const pagerdutyProvider: ProviderDefinition<PagerdutyConfig> = {
  id: 'pagerduty',
  displayName: 'PagerDuty',
  description:
    'Triggers a PagerDuty alert through the Events API v2, one per incident, maintenance or system (dedup_key ' +
    'hub:<kind>:<id>). Later events update or acknowledge it; resolving events resolve it.',
  configSchema: pagerdutyConfigSchema,
  followUps: true,
  coalesceFollowUps: true,
  // One record per PagerDuty service (integration key) of one Events API host; the key itself is never stored.
  followUpTarget: (config) => `pagerduty:${trimBase(config.apiBaseUrl)}:${fingerprint(config.routingKey)}`,
  deliver: deliverPagerduty,
};
