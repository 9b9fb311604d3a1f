import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How far `webhook-timestamp` may be from now, either way, before verify() rejects it (seconds). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
// The spec asks for 24 to 64 random bytes of key material.
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A signature did not verify; the message never contains a secret or an expected signature. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Key bytes of a `whsec_<base64>` secret, or undefined when it is not one (24..64 bytes). */
function decodeSecret(secret: string): Buffer | undefined {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : undefined;
}

/** True when `secret` is `whsec_` followed by the base64 of 24 to 64 bytes. */
export function isValidWebhookSecret(secret: string): boolean {
  return decodeSecret(secret) !== undefined;
}

/** A fresh `whsec_` secret holding 24 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(MIN_SECRET_BYTES).toString('base64');
}

function toSeconds(timestamp: Date | number): number {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError('webhook timestamp must be a whole number of Unix seconds');
  }
  return seconds;
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Standard Webhooks symmetric signing (`v1`, HMAC-SHA256), after the reference library
 * (standard-webhooks libraries/javascript/src/index.ts). Give several secrets during a rotation:
 * every message then carries one signature per secret, and verify() accepts any of them.
 */
export class WebhookSigner {
  private readonly keys: Buffer[];

  constructor(secrets: string | readonly string[]) {
    const list = typeof secrets === 'string' ? [secrets] : [...secrets];
    if (list.length === 0) throw new Error('WebhookSigner needs at least one secret');
    this.keys = list.map((secret, index) => {
      const key = decodeSecret(secret);
      if (!key) {
        throw new Error(
          `webhook secret #${index + 1} is malformed: expected whsec_ followed by the base64 of ` +
            `${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes`,
        );
      }
      return key;
    });
  }

  /** The `webhook-signature` header value: `v1,<base64>` per secret, space-separated. `timestamp` in seconds. */
  sign(msgId: string, timestamp: Date | number, body: string | Buffer): string {
    // The id and timestamp are joined with '.', so a '.' inside the id would make the signed content ambiguous.
    if (!msgId || msgId.includes('.')) throw new Error('webhook message id must be non-empty and contain no "."');
    const content = signedContent(msgId, toSeconds(timestamp), body);
    return this.keys.map((key) => `v1,${hmac(key, content)}`).join(' ');
  }

  /**
   * Throws WebhookVerificationError unless `headers` (webhook-id, webhook-timestamp, webhook-signature, any case)
   * carry a `v1` signature of `body` by one of our secrets, timestamped within WEBHOOK_TOLERANCE_SECONDS of `nowSeconds`.
   */
  verify(
    body: string | Buffer,
    headers: Record<string, string | string[] | undefined>,
    nowSeconds: number = Math.floor(Date.now() / 1000),
  ): void {
    const msgId = headerValue(headers, 'webhook-id');
    const timestampHeader = headerValue(headers, 'webhook-timestamp');
    const signatureHeader = headerValue(headers, 'webhook-signature');
    if (!msgId || !timestampHeader || !signatureHeader) throw new WebhookVerificationError('Missing required headers');

    if (!/^\d+$/.test(timestampHeader)) throw new WebhookVerificationError('Invalid webhook-timestamp header');
    const timestamp = Number(timestampHeader);
    if (nowSeconds - timestamp > WEBHOOK_TOLERANCE_SECONDS) throw new WebhookVerificationError('Message timestamp too old');
    if (timestamp - nowSeconds > WEBHOOK_TOLERANCE_SECONDS) throw new WebhookVerificationError('Message timestamp too new');

    const content = signedContent(msgId, timestamp, body);
    const expected = this.keys.map((key) => Buffer.from(hmac(key, content)));
    for (const entry of signatureHeader.split(' ')) {
      const [version, signature] = entry.split(',', 2);
      if (version !== 'v1' || !signature) continue;
      const passed = Buffer.from(signature);
      // timingSafeEqual needs equal lengths; the length of a signature is public anyway.
      if (expected.some((candidate) => candidate.length === passed.length && timingSafeEqual(candidate, passed))) return;
    }
    throw new WebhookVerificationError('No matching signature found');
  }
}

function signedContent(msgId: string, timestampSeconds: number, body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${msgId}.${timestampSeconds}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

function hmac(key: Buffer, content: Buffer): string {
  return createHmac('sha256', key).update(content).digest('base64');
}
