import { sanitise } from '../shared/sanitise';
import { outcomeFromError } from '../http/outcome';
import { fingerprint, subjectDedupKey } from '../shared/subject-key';
import type { DeliveryContext, DeliveryOutcome, ProviderDefinition } from '../types';
import { buildAlert, buildNote } from './alert';
import { classifyOpsgenieResponse, parseOpsgenieAnswer } from './classify';
import { ALIAS_MAX, opsgenieBase, opsgenieConfigSchema, type OpsgenieConfig } from './config';
import { followRequest } from './request-status';

export { opsgenieConfigSchema, type OpsgenieConfig } from './config';

type Action = 'creation' | 'a note' | 'close';

/** Opsgenie's processing status for an alias with no alert behind it. */
const NO_ALERT = /does ?n[o']t exist|not found/i;

/**
 * One attempt. A resolving event closes the alert by alias; another follow-up adds a note to it; anything
 * else creates it (`POST /v2/alerts`, alias = the subject's key, so a repeat is deduplicated by Opsgenie).
 * Opsgenie answers 202 and processes the request later: the provider follows the request for a moment and
 * reports a processing failure (an unknown team, say) as a permanent one; a note for an alert that no longer
 * exists creates the alert instead, a close of one is done already.
 */
async function deliverOpsgenie(ctx: DeliveryContext<OpsgenieConfig>): Promise<DeliveryOutcome> {
  const secrets = [ctx.config.apiKey];
  const alias = ctx.followUp?.externalId ?? subjectDedupKey(ctx, ALIAS_MAX);
  const base = opsgenieBase(ctx.config);
  const alerts = `${base}/v2/alerts`;
  const byAlias = (verb: string) => `${alerts}/${encodeURIComponent(alias)}/${verb}?identifierType=alias`;
  const send = async (action: Action): Promise<DeliveryOutcome> => {
    const [url, body] =
      action === 'close' ? [byAlias('close'), buildNote(ctx)] : action === 'a note' ? [byAlias('notes'), buildNote(ctx)] : [alerts, buildAlert(ctx, alias)];
    const res = await ctx.http.request({
      method: 'POST',
      url,
      headers: { authorization: `GenieKey ${ctx.config.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const outcome = classifyOpsgenieResponse(res, alias, action, secrets);
    const requestId = parseOpsgenieAnswer(res.body).requestId;
    if (outcome.kind !== 'success' || !requestId) return outcome;
    const processed = await followRequest(ctx.http, base, ctx.config.apiKey, requestId);
    if (processed.state === 'done') return { ...outcome, log: `${outcome.log}; processed: ${processed.status ?? 'ok'}` };
    if (processed.state === 'pending') return { ...outcome, log: `${outcome.log}; not processed yet` };
    if (NO_ALERT.test(processed.status) && action === 'a note') {
      const created = await send('creation');
      return created.kind === 'success' ? { ...created, log: `alert ${alias} no longer existed for the note; ${created.log}` } : created;
    }
    if (NO_ALERT.test(processed.status) && action === 'close') return { ...outcome, log: `${outcome.log}; no open alert to close` };
    return {
      kind: 'permanent',
      errorCode: 'opsgenie_processing_failed',
      httpStatus: res.status,
      error: sanitise(`Opsgenie accepted ${action} of alert ${alias} but could not process it: ${processed.status} (requestId ${requestId})`, secrets, 400),
    };
  };
  try {
    return await send(!ctx.test && ctx.event.resolves ? 'close' : ctx.followUp ? 'a note' : 'creation');
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
  coalesceFollowUps: true,
  // One record per Opsgenie integration (API key) of one instance; the key itself is never stored.
  followUpTarget: (config) => `opsgenie:${opsgenieBase(config)}:${fingerprint(config.apiKey)}`,
  deliver: deliverOpsgenie,
};
