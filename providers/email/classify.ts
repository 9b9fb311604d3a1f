import { safeErrorMessage, sanitise } from '../shared/sanitise';
import { OutboundError } from '../http/guarded-client';
import { outcomeFromError } from '../http/outcome';
import type { DeliveryOutcome } from '../types';

/** The fields of a nodemailer error we read (by allowlist: never the command or the envelope). */
interface SmtpErrorLike {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  message?: unknown;
}

const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EPROTOCOL']);
const AUTH_CODES = new Set([530, 534, 535, 538]);

export const PAUSE_REASONS = {
  auth: (host: string) =>
    `The SMTP server ${host} rejected the user name or password: fix the connection's credentials, then enable the subscription again.`,
  noAuth: (host: string) => `The SMTP server ${host} requires authentication: add a user name and password to the connection, then enable the subscription again.`,
} as const;

/** The server's own words, one line, without anything secret. */
function serverText(err: SmtpErrorLike, secrets: Iterable<string>): string {
  const text = typeof err.response === 'string' && err.response ? err.response : typeof err.message === 'string' ? err.message : '';
  return sanitise(text, secrets, 300);
}

/**
 * Classifies what sending a mail threw: an SMTP reply code 4xx is retryable, 5xx permanent (530/534/535
 * authentication failures pause the subscription; 550 mailbox unavailable is permanent); connection,
 * timeout and socket errors are retryable; certificate and STARTTLS failures, and a refused address
 * (SSRF policy), are permanent. Messages carry the reply code and the server's text, sanitised.
 */
export function classifySmtpError(err: unknown, host: string, secrets: Iterable<string>): DeliveryOutcome {
  if (err instanceof OutboundError) return outcomeFromError(err, secrets);
  if (!err || typeof err !== 'object') return { kind: 'retryable', error: safeErrorMessage(err, secrets) };
  const e = err as SmtpErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (reply !== undefined) {
    const error = sanitise(`SMTP ${reply} from ${host}: ${serverText(e, secrets)}`, secrets, 400);
    if (reply >= 400 && reply < 500) return { kind: 'retryable', error, errorCode: `smtp_${reply}` };
    if (AUTH_CODES.has(reply) || code === 'EAUTH') return { kind: 'permanent', error, errorCode: 'smtp_auth_failed', pauseReason: PAUSE_REASONS.auth(host) };
    if (reply === 550) return { kind: 'permanent', error, errorCode: 'mailbox_unavailable' };
    if (reply >= 500) return { kind: 'permanent', error, errorCode: `smtp_${reply}` };
  }
  const detail = serverText(e, secrets);
  if (code === 'EAUTH') return { kind: 'permanent', error: `SMTP authentication with ${host} failed: ${detail}`, errorCode: 'smtp_auth_failed', pauseReason: PAUSE_REASONS.auth(host) };
  if (code === 'ENOAUTH') return { kind: 'permanent', error: `SMTP ${host} needs credentials`, errorCode: 'smtp_auth_missing', pauseReason: PAUSE_REASONS.noAuth(host) };
  if (code === 'ETLS' || /certificate|self[- ]signed|CERT_|altname/i.test(detail)) {
    return { kind: 'permanent', error: `TLS with ${host} failed: ${detail}`, errorCode: 'tls_error' };
  }
  if (CONNECTION_CODES.has(code)) return { kind: 'retryable', error: `SMTP connection to ${host} failed (${code}): ${detail}`, errorCode: 'connection_failed' };
  if (code === 'EENVELOPE' || code === 'EMESSAGE') return { kind: 'permanent', error: `The mail was refused (${code}): ${detail}`, errorCode: code.toLowerCase() };
  return { kind: 'retryable', error: safeErrorMessage(err, secrets) };
}
