import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * A local SMTP server (the `smtp-server` package) that behaves like a strict submission server: it checks
 * AUTH credentials, offers STARTTLS with a certificate for `localhost` (CA in `caCertificate`), can be told to
 * require TLS before AUTH, refuses unknown mailboxes with 550 and can be scripted to answer the next mail with
 * any reply code. Every accepted mail is kept raw and parsed (headers, text and HTML parts).
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Map<string, string>;
  text?: string;
  html?: string;
  secure: boolean;
  user?: string;
  /** When the server accepted the mail (epoch ms), to check the order mails arrived in. */
  at: number;
}

export interface SmtpScript {
  /** Reply code for the next mail's DATA (e.g. 451, 554). */
  code: number;
  message: string;
}

/** A self-signed CA-less certificate for localhost, made once per run with openssl. */
function localhostCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-fake-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const out = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

export class FakeSmtp {
  readonly mails: ReceivedMail[] = [];
  readonly script: SmtpScript[] = [];
  /** Mailboxes that do not exist: RCPT TO answers 550. */
  readonly unknownMailboxes = new Set<string>();
  /** Connections seen (including those that sent nothing). */
  connections = 0;
  port = 0;
  caCertificate = '';
  private server?: SMTPServer;

  constructor(private readonly opts: { user?: string; password?: string; requireTlsForAuth?: boolean } = {}) {}

  async start(): Promise<this> {
    const { key, cert } = localhostCertificate();
    this.caCertificate = cert;
    const { user, password } = this.opts;
    this.server = new SMTPServer({
      key,
      cert,
      authOptional: user === undefined,
      allowInsecureAuth: !this.opts.requireTlsForAuth,
      authMethods: ['PLAIN', 'LOGIN'],
      size: 10 * 1024 * 1024,
      logger: false,
      onConnect: (_session, cb) => {
        this.connections += 1;
        cb();
      },
      onAuth: (auth, _session, cb) => {
        if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
        const err = Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 });
        cb(err);
      },
      onRcptTo: (address, _session, cb) => {
        if (this.unknownMailboxes.has(address.address.toLowerCase())) {
          return cb(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: mailbox unavailable`), { responseCode: 550 }));
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const scripted = this.script.shift();
          if (scripted) return cb(Object.assign(new Error(scripted.message), { responseCode: scripted.code }));
          const raw = Buffer.concat(chunks).toString('utf8');
          const envelope = session.envelope;
          this.mails.push({
            from: envelope.mailFrom ? envelope.mailFrom.address : '',
            to: envelope.rcptTo.map((r) => r.address),
            raw,
            ...parseMime(raw),
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
            at: Date.now(),
          });
          cb();
        });
      },
    });
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Headers (unfolded, lower-case names) and the text/plain and text/html parts of a raw message. */
export function parseMime(raw: string): { headers: Map<string, string>; text?: string; html?: string } {
  const { headers, body } = splitHeaders(raw);
  const out: { text?: string; html?: string } = {};
  walk(headers, body, out);
  return { headers, ...out };
}

function splitHeaders(raw: string): { headers: Map<string, string>; body: string } {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), decodeWords(line.slice(i + 1).trim()));
  }
  return { headers, body };
}

function walk(headers: Map<string, string>, body: string, out: { text?: string; html?: string }): void {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith('--')) break;
      const p = splitHeaders(part.replace(/^\r?\n/, ''));
      walk(p.headers, p.body, out);
    }
    return;
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding') ?? '7bit');
  if (/^text\/html/i.test(type)) out.html = decoded;
  else if (/^text\/plain/i.test(type)) out.text = decoded;
}

function decodeBody(body: string, encoding: string): string {
  const e = encoding.toLowerCase();
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (e === 'quoted-printable') {
    return quotedPrintable(body.replace(/=\r?\n/g, '')).replace(/\r\n/g, '\n').replace(/\n$/, '');
  }
  return body.replace(/\r\n/g, '\n').replace(/\n$/, '');
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QBqb])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : quotedPrintable(text.replace(/_/g, ' ')),
    );
}

/** `=XX` escapes to bytes, everything else as UTF-8. */
function quotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
