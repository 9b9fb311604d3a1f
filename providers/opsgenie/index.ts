import { outcomeFromError } from '../http/outcome';
import { fingerprint, subjectDedupKey } from '../subject-key';
import type { DeliveryContext, DeliveryOutcome, ProviderDefinition } from '../types';
import { buildAlert, buildNote } from './alert';
import { classifyOpsgenieResponse } from './classify';
import { ALIAS_MAX, opsgenieBase, opsgenieConfigSchema, type OpsgenieConfig } from './config';

export { opsgenieConfigSchema, OPSGENIE_API_BASES, type OpsgenieConfig } from './config';

/**
 * One attempt. A resolving event closes the alert by alias; another follow-up adds a note to it; anything
 * else creates it (`POST /v2/alerts`, alias = the subject's key, so a repeat is deduplicated by Opsgenie).
 */
export async function deliverOpsgenie(ctx: DeliveryContext<OpsgenieConfig>): Promise<DeliveryOutcome> {
  const secrets = [ctx.config.apiKey];
  const alias = ctx.followUp?.externalId ?? subjectDedupKey(ctx, ALIAS_MAX);
  const base = `${opsgenieBase(ctx.config)}/v2/alerts`;
  const byAlias = (verb: string) => `${base}/${encodeURIComponent(alias)}/${verb}?identifierType=alias`;
  const [action, url, body] = !ctx.test && ctx.event.resolves
    ? ['close', byAlias('close'), buildNote(ctx)]
    : ctx.followUp
      ? ['a note', byAlias('notes'), buildNote(ctx)]
      : ['creation', base, buildAlert(ctx, alias)];
  try {
    const res = await ctx.http.request({
      method: 'POST',
      url,
      headers: { authorization: `GenieKey ${ctx.config.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return classifyOpsgenieResponse(res, alias, action, secrets);
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}

/** The Opsgenie provider: one alert per incident, maintenance or system, closed when it ends. */
export const opsgenieProvider: ProviderDefinition<OpsgenieConfig> = {
  id: 'opsgenie',
  displayName: 'Opsgenie',
  description:
    'Creates an Opsgenie alert per incident, maintenance or system (alias hub:<kind>:<id>), adds a note for ' +
    'later events and closes it when the subject ends. US or EU instance.',
  configSchema: opsgenieConfigSchema,
  followUps: true,
  // One record per Opsgenie integration (API key) of one instance; the key itself is never stored.
  followUpTarget: (config) => `opsgenie:${opsgenieBase(config)}:${fingerprint(config.apiKey)}`,
  deliver: deliverOpsgenie,
};
