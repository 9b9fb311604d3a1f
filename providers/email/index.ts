import { createHash } from 'node:crypto';
import type { ConnectionContext, EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { checkTemplatePaths } from '../shared/template';
import { classifySmtpError } from './classify';
import { emailConfigSchema, emailConnectionSchema, type EmailConfig, type EmailConnection } from './config';
import { deliverEmail, smtpSecrets } from './deliver';
import { verifySmtp } from './send';

export { emailConfigSchema, emailConnectionSchema, type EmailConfig, type EmailConnection } from './config';

/** Save-time checks: template paths that can never hold a value for this event. */
function validateEmailConfig(config: EmailConfig, eventType: EventTypeInfo): FieldProblem[] {
  return (['subjectTemplate', 'htmlTemplate', 'textTemplate'] as const).flatMap((field) =>
    config[field] ? checkTemplatePaths(config[field]!, eventType, `config.${field}`) : [],
  );
}

/**
 * Where a thread lives: the server, the sender and the recipients (hashed: addresses are long, not secret).
 * Subscriptions mailing the same people from the same sender share a subject's thread.
 */
export function emailTarget(config: Pick<EmailConfig, 'to' | 'cc'>, connection: Pick<EmailConnection, 'host' | 'from'>): string {
  const people = [...config.to, ...(config.cc ?? [])].map((a) => a.toLowerCase()).sort().join(',');
  const hash = createHash('sha256').update(`${connection.from.toLowerCase()}|${people}`).digest('hex').slice(0, 32);
  return `email:${connection.host.toLowerCase()}:${hash}`;
}

/** EHLO, STARTTLS/TLS and AUTH against the server, without sending a mail. */
async function testEmailConnection(ctx: ConnectionContext<EmailConnection>): Promise<{ ok: boolean; message: string }> {
  const parsed = emailConnectionSchema.safeParse(ctx.connection);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((i) => ['connection', ...i.path.map(String)].join('.')))];
    return { ok: false, message: `The connection is invalid at ${paths.join(', ')}` };
  }
  try {
    await verifySmtp(ctx.http, parsed.data);
    return { ok: true, message: `Connected to ${parsed.data.host}:${parsed.data.port}${parsed.data.username ? ` as ${parsed.data.username}` : ''}` };
  } catch (err) {
    const outcome = classifySmtpError(err, parsed.data.host, smtpSecrets(parsed.data));
    return { ok: false, message: outcome.kind === 'success' ? 'unexpected answer' : outcome.error };
  }
}

/** E-mail over SMTP: HTML and text parts, follow-ups as replies in the subject's thread. */
export const emailProvider: ProviderDefinition<EmailConfig, EmailConnection> = {
  id: 'email',
  displayName: 'E-mail (SMTP)',
  description:
    'Sends each event as an e-mail (HTML and text) through your SMTP server. Later events about the same incident, ' +
    'maintenance or system are sent as replies in the first mail\'s thread (In-Reply-To / References).',
  configSchema: emailConfigSchema,
  connectionSchema: emailConnectionSchema,
  connection: 'required',
  followUps: true,
  followUpTarget: (config, connection) => (connection ? emailTarget(config, connection) : undefined),
  validateConfig: validateEmailConfig,
  deliver: deliverEmail,
  testConnection: testEmailConnection,
};
