import { outcomeFromError, outcomeFromResponse } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome, EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { webhookConfigSchema, type WebhookConfig } from './config';
import { buildWebhookRequest, readExternalId } from './request';
import { TemplateError, checkTemplatePaths, exampleView, renderJsonTemplate } from '../shared/template';

export { webhookConfigSchema, type WebhookConfig } from './config';
export { WebhookSigner } from './signing';

/** Save-time checks beyond the schema: template paths that can never exist, and a JSON body the example breaks. */
function validateWebhookConfig(config: WebhookConfig, eventType: EventTypeInfo): FieldProblem[] {
  const problems = [
    ...checkTemplatePaths(config.url, eventType, 'config.url'),
    ...Object.entries(config.headers).flatMap(([name, value]) => checkTemplatePaths(value, eventType, `config.headers.${name}`)),
  ];
  if (config.bodyTemplate === undefined) return problems;
  const bodyProblems = checkTemplatePaths(config.bodyTemplate, eventType, 'config.bodyTemplate');
  problems.push(...bodyProblems);
  // Rendering the example catches quoting mistakes now rather than at 3 a.m.; without an example we cannot know.
  if (config.contentType === 'json' && eventType.example && bodyProblems.length === 0) {
    try {
      renderJsonTemplate(config.bodyTemplate, exampleView(eventType));
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push({ path: 'config.bodyTemplate', message: `with the example ${eventType.id} payload: ${err.message}` });
    }
  }
  return problems;
}

/** One attempt: render, sign, send through the guarded client, classify. Never throws for a bad config or template. */
async function deliverWebhook(ctx: DeliveryContext<WebhookConfig>): Promise<DeliveryOutcome> {
  // ctx.config is the schema's output: parsed once by the attempt activity (providers/input.ts)
  const config = ctx.config;

  let request;
  try {
    request = buildWebhookRequest({ ...ctx, config }, Math.floor(Date.now() / 1000));
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }

  // A receiver may echo our headers back in an error body; its excerpt must not carry them.
  const secrets = secretValues(config);
  let response;
  try {
    response = await ctx.http.request(request);
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
  const outcome = outcomeFromResponse(response, { extraRetryableStatuses: config.extraRetryableStatuses, secrets });
  if (outcome.kind !== 'success' || !config.externalIdPath) return outcome;
  // A receiver that answers without the id (or not in JSON) still took the delivery.
  const externalId = readExternalId(response.body, config.externalIdPath);
  return externalId === undefined ? outcome : { ...outcome, externalId };
}

/** The secret values of a config, as they may appear on the wire (Basic credentials also base64-encoded). */
function secretValues(config: WebhookConfig): string[] {
  const { auth } = config;
  const values = config.signing ? [...config.signing.secrets] : [];
  if (auth.type === 'bearer') values.push(auth.token);
  if (auth.type === 'header') values.push(auth.value);
  if (auth.type === 'basic') values.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
  return values;
}

/** The generic webhook provider: any HTTP endpoint, templated, optionally signed per Standard Webhooks. */
export const webhookProvider: ProviderDefinition<WebhookConfig> = {
  id: 'webhook',
  /** Standard Webhooks signing secrets (`whsec_...`). */
  redact: [{ pattern: /\bwhsec_[A-Za-z0-9+/=_-]+/g, replacement: 'whsec_***' }],
  displayName: 'Generic webhook',
  description:
    'Sends each event to an HTTP endpoint as JSON or a form, with templated URL, headers and body, ' +
    'bearer/basic/header auth, and Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature).',
  configSchema: webhookConfigSchema,
  followUps: false,
  validateConfig: validateWebhookConfig,
  deliver: deliverWebhook,
};
