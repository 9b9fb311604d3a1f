import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import type { GuardedHttpClient } from '../types';
import { OutboundError } from '../http/guarded-client';
import type { EmailConnection } from './config';

/** Connect, greeting and idle timeouts of one SMTP session, milliseconds. */
const CONNECT_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 30_000;

/** One mail as handed to nodemailer (addresses already validated by the schema). */
export interface OutgoingMail {
  to: string[];
  cc?: string[];
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  inReplyTo?: string;
  headers: Record<string, string>;
}

/** What the server accepted. */
export interface SentMail {
  accepted: string[];
  rejected: string[];
  response: string;
}

/**
 * An SMTP transport to the connection's server that connects to the address the guarded resolver allowed
 * (loopback, private and metadata ranges only when allow-listed), verifying TLS against the host name.
 */
async function smtpTransport(http: GuardedHttpClient, connection: EmailConnection) {
  if (!http.resolveHost) throw new OutboundError('invalid_request', 'this process has no guarded resolver for SMTP');
  const host = connection.host.replace(/^\[(.*)\]$/, '$1');
  const { address } = await http.resolveHost(host);
  const servername = isIP(host) ? undefined : host.replace(/\.$/, '');
  return nodemailer.createTransport({
    host: address,
    port: connection.port,
    secure: connection.security === 'tls',
    requireTLS: connection.security === 'starttls',
    ignoreTLS: connection.security === 'none',
    ...(servername ? { servername } : {}),
    auth: connection.username ? { user: connection.username, pass: connection.password ?? '' } : undefined,
    tls: { minVersion: 'TLSv1.2', ...(servername ? { servername } : {}), ...(connection.caCertificate ? { ca: connection.caCertificate } : {}) },
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  });
}

/** Sends one mail in its own SMTP session and closes it. Rejects with whatever nodemailer threw. */
export async function sendMail(http: GuardedHttpClient, connection: EmailConnection, mail: OutgoingMail): Promise<SentMail> {
  const transport = await smtpTransport(http, connection);
  try {
    const from = connection.fromName ? { name: connection.fromName, address: connection.from } : connection.from;
    const info = await transport.sendMail({
      from,
      to: mail.to,
      ...(mail.cc?.length ? { cc: mail.cc } : {}),
      ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo, references: [mail.inReplyTo] } : {}),
      headers: mail.headers,
    });
    const list = (v: unknown) => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : String((a as { address?: unknown })?.address ?? ''))) : []);
    return { accepted: list(info.accepted), rejected: list(info.rejected), response: typeof info.response === 'string' ? info.response : '' };
  } finally {
    transport.close();
  }
}

/** Opens a session, says EHLO, upgrades to TLS and logs in as configured, then quits. Rejects like sendMail. */
export async function verifySmtp(http: GuardedHttpClient, connection: EmailConnection): Promise<void> {
  const transport = await smtpTransport(http, connection);
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}
