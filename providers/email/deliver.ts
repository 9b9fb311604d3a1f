import type { DeliveryContext, DeliveryOutcome } from '../types';
import { TemplateError } from '../shared/template';
import { classifySmtpError } from './classify';
import type { EmailConfig, EmailConnection } from './config';
import { composeMail } from './message';
import { sendMail } from './send';

/** The secret forms of the SMTP password: itself and the base64 of AUTH PLAIN / LOGIN exchanges. */
export function smtpSecrets(connection: EmailConnection): string[] {
  const { username, password } = connection;
  if (!password) return [];
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return [password, b64(`\u0000${username ?? ''}\u0000${password}`), b64(`${username ?? ''}\u0000${password}`)];
}

/**
 * One attempt: one mail with HTML and text parts. A follow-up replies in the thread of the subject's first
 * mail (`In-Reply-To` / `References` = its Message-ID, which stays the record). Never throws.
 */
export async function deliverEmail(ctx: DeliveryContext<EmailConfig, EmailConnection>): Promise<DeliveryOutcome> {
  const { config, connection } = ctx;
  if (!connection) return { kind: 'permanent', errorCode: 'connection_missing', error: 'An e-mail subscription needs a connection (its SMTP server)' };
  let mail;
  try {
    mail = composeMail(ctx, config, connection);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }
  try {
    const sent = await sendMail(ctx.http, connection, {
      to: config.to,
      cc: config.cc,
      replyTo: config.replyTo,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      inReplyTo: mail.inReplyTo,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Integrations-Hub-Delivery': ctx.deliveryId },
    });
    const externalId = ctx.followUp && mail.inReplyTo ? ctx.followUp.externalId : mail.messageId;
    const log = sent.rejected.length ? `The server refused ${sent.rejected.length} recipient(s): ${sent.rejected.join(', ')}` : undefined;
    return { kind: 'success', externalId, ...(log ? { log } : {}) };
  } catch (err) {
    return classifySmtpError(err, connection.host, smtpSecrets(connection));
  }
}
