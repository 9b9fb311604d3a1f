import { sanitise } from '../shared/sanitise';
import { outcomeFromError, outcomeFromResponse } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome, OutboundResponse } from '../types';
import { summarise } from '../shared/format';
import { ADAPTIVE_CARD_CONTENT_TYPE, cardKind, fitCard, type AdaptiveCard, type CardText } from './card';
import type { WorkflowConfig } from './config';

/** The message envelope the Workflows trigger expects: the stock flow posts each card attachment. */
export function workflowEnvelope(card: AdaptiveCard): string {
  return JSON.stringify({
    type: 'message',
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: card }],
  });
}

const FLOW_GONE =
  'The Teams workflow behind this webhook URL is gone (deleted, or its owner left the organisation): ' +
  'create a new one in Teams Workflows and update the subscription with its URL';
const SIGNATURE_REFUSED =
  'The Teams workflow refused the webhook URL signature (the flow was re-created or its URL revoked): ' +
  'copy the current URL from the workflow trigger into the subscription';
const FLOW_OFF = 'The Teams workflow is turned off: turn it on in Power Automate / Teams Workflows, then resume the subscription';

/** The `error.code` of a Logic Apps / Power Automate error body, if it has one. */
function flowErrorCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } })?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Power Automate throttling says "Try again in N seconds" in the body when it sends no Retry-After. */
export function retryHintFromBody(body: string): number | undefined {
  const match = /try again in (\d{1,6}) seconds?/i.exec(body);
  return match ? Number(match[1]) * 1000 : undefined;
}

/**
 * Classifies a Workflows webhook answer: 2xx (202) success without an id; 404 flow gone, 401/403
 * signature refused and WorkflowTriggerIsNotEnabled permanent and pausing; 429 and 5xx retryable
 * (Retry-After, or the body's "try again in N seconds"); anything else per outcomeFromResponse.
 */
function classifyWorkflowResponse(res: OutboundResponse, secrets: string[]): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { secrets });
  if (outcome.kind === 'success') return { kind: 'success', httpStatus: res.status };
  const code = flowErrorCode(res.body);
  if (code) outcome.errorCode = code;
  if (outcome.kind === 'retryable') {
    if (res.status === 429 && outcome.retryAfterMs === undefined) {
      const hint = retryHintFromBody(res.body);
      if (hint !== undefined) outcome.retryAfterMs = hint;
    }
    return outcome;
  }
  if (code === 'WorkflowTriggerIsNotEnabled') return { ...outcome, pauseReason: FLOW_OFF };
  if (res.status === 404) return { ...outcome, pauseReason: FLOW_GONE };
  if (res.status === 401 || res.status === 403) return { ...outcome, pauseReason: SIGNATURE_REFUSED };
  return outcome;
}

/** The URL and its signature on its own, as a flow may echo either back. */
function workflowSecrets(webhookUrl: string): string[] {
  const secrets = [webhookUrl];
  try {
    const sig = new URL(webhookUrl).searchParams.get('sig');
    if (sig) secrets.push(sig);
  } catch {
    // an unparseable URL never reaches here: the schema checked it
  }
  return secrets;
}

/** Posts the card to the workflow URL. The flow answers 202 and gives no id, so nothing can be updated later. */
export async function deliverToWorkflow(ctx: DeliveryContext<WorkflowConfig>, text: CardText): Promise<DeliveryOutcome> {
  const secrets = workflowSecrets(ctx.config.webhookUrl);
  const summary = summarise(ctx);
  const body = fitCard(summary, cardKind(ctx.event.resolves, false), text, workflowEnvelope);
  let res: OutboundResponse;
  try {
    res = await ctx.http.request({
      method: 'POST',
      url: ctx.config.webhookUrl,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    });
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
  const outcome = classifyWorkflowResponse(res, secrets);
  return outcome.kind === 'success' ? outcome : { ...outcome, error: sanitise(outcome.error, secrets) };
}
