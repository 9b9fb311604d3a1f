import { z } from 'zod';
import { secretMeta } from '../shared/secret-field';
import { templateField } from '../shared/template';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^\[?[0-9A-Fa-f:.]+\]?$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const PEM_CERT = /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/;

const address = z.email({ error: 'must be an e-mail address such as ops@example.com' }).max(254);

/** An SMTP server account: where mail goes out, how the connection is secured, who it is from. */
export const emailConnectionSchema = z.strictObject({
  host: z
    .string()
    .trim()
    .refine((v) => HOSTNAME.test(v) || IPV4.test(v) || (v.includes(':') && IPV6.test(v)), 'must be a host name or an IP address')
    .describe('SMTP server host name, e.g. smtp.example.com; it must resolve to a public address unless allow-listed (OUTBOUND_ALLOWED_NETWORKS)'),
  port: z.number().int().min(1).max(65535).default(587).describe('SMTP port: 587 for STARTTLS (submission), 465 for implicit TLS, 25 for relays'),
  security: z
    .enum(['starttls', 'tls', 'none'])
    .default('starttls')
    .describe('"starttls": plain connect, then STARTTLS (required, never falls back to plaintext); "tls": TLS from the first byte (port 465); "none": no TLS (local relays only)'),
  username: z.string().min(1).max(256).refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters').optional().describe('SMTP AUTH user name; leave out for a relay without authentication'),
  password: z
    .string()
    .min(1)
    .max(1024)
    .meta(secretMeta({ boundTo: ['host'] }))
    .optional()
    .describe('SMTP AUTH password (or app password); only ever sent to this host'),
  from: address.describe('Sender address of every mail, e.g. status@example.com (the server must allow it)'),
  fromName: z.string().max(128).refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters').optional().describe('Display name of the sender, e.g. "Status page"'),
  caCertificate: z
    .string()
    .max(65536)
    .regex(PEM_CERT, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)')
    .optional()
    .describe('PEM certificate(s) of a private CA to trust for this server\'s TLS certificate (public CAs are always trusted)'),
}).superRefine((c, ctx) => {
  if (c.password !== undefined && c.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'is required with a password' });
  // AUTH PLAIN/LOGIN is only base64: never send the password over a connection without TLS
  if (c.password !== undefined && c.security === 'none') {
    ctx.addIssue({ code: 'custom', path: ['security'], message: 'must be "starttls" or "tls" when a password is set (it would travel in plaintext)' });
  }
});

/** A parsed, defaulted e-mail connection. */
export type EmailConnection = z.output<typeof emailConnectionSchema>;

/** Config of one e-mail subscription: the recipients and how the mail reads. */
export const emailConfigSchema = z.strictObject({
  to: z.array(address).min(1).max(50).describe('Recipients'),
  cc: z.array(address).max(50).optional().describe('Copy recipients'),
  replyTo: address.optional().describe('Reply-To address (e.g. the on-call list)'),
  subjectTemplate: templateField(1000)
    .optional()
    .describe(
      'Subject as a mustache template over {event, payload, deliveryId, subscription}, e.g. "[{{payload.severity}}] {{payload.title}}"; ' +
        'line breaks are folded to spaces. Default: the title. Follow-ups send "Re: " + it, so keep it the same for all events of a subject',
    ),
  htmlTemplate: templateField(65536).optional().describe('HTML part as a mustache template; {{x}} is HTML-escaped. Default: a summary with title, severity, status, systems, description and link'),
  textTemplate: templateField(65536).optional().describe('Plain-text part as a mustache template; values are inserted as they are. Default: the same summary as text'),
});

/** A parsed e-mail subscription config. */
export type EmailConfig = z.output<typeof emailConfigSchema>;
