import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome } from '../types';
import { classifyWebhookResponse } from './classify';
import type { SlackConfig } from './config';
import { buildMessage } from './message';

/**
 * The forms an incoming-webhook URL's secret can take in text: the URL, its path, and the token
 * after the last slash (the part that authorises).
 */
export function webhookSecrets(webhookUrl: string): string[] {
  const secrets = [webhookUrl];
  try {
    const { pathname } = new URL(webhookUrl);
    secrets.push(pathname);
    const last = pathname.split('/').filter(Boolean).pop();
    if (last) secrets.push(last);
  } catch {
    // an unparseable URL is masked whole
  }
  return secrets;
}

/**
 * One post to an incoming webhook. It answers plain text (`ok` or an error code) and no message id,
 * so every event is a new message and nothing can be edited later.
 */
export async function deliverViaWebhook(ctx: DeliveryContext<SlackConfig>, webhookUrl: string, config: SlackConfig): Promise<DeliveryOutcome> {
  const message = buildMessage(ctx, config, 'post');
  const secrets = webhookSecrets(webhookUrl);
  try {
    const res = await ctx.http.request({
      method: 'POST',
      url: webhookUrl,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ ...message, unfurl_links: false, unfurl_media: false }),
    });
    return classifyWebhookResponse(res, secrets);
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}
