import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookSigner,
  WebhookVerificationError,
  generateWebhookSecret,
  isValidWebhookSecret,
} from '../../providers/webhook/signing';

// Standard Webhooks' published test vector (reference Python tests; provider-apis.md section 7).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const vectorHeaders = (signature = VECTOR.signature, timestamp = VECTOR.timestamp) => ({
  'webhook-id': VECTOR.msgId,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signature,
});

function verifyError(fn: () => void): WebhookVerificationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WebhookVerificationError, `expected WebhookVerificationError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected verification to fail');
}

describe('WebhookSigner (Standard Webhooks v1)', () => {
  it('signs the published test vector to exactly the published signature', () => {
    assert.equal(new WebhookSigner(VECTOR.secret).sign(VECTOR.msgId, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  });

  it('signs a Date timestamp as whole Unix seconds', () => {
    const at = new Date(VECTOR.timestamp * 1000 + 999);
    assert.equal(new WebhookSigner(VECTOR.secret).sign(VECTOR.msgId, at, VECTOR.body), VECTOR.signature);
  });

  it('accepts the published vector when verified within the tolerance', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    signer.verify(VECTOR.body, vectorHeaders(), VECTOR.timestamp + WEBHOOK_TOLERANCE_SECONDS);
    signer.verify(VECTOR.body, vectorHeaders(), VECTOR.timestamp - WEBHOOK_TOLERANCE_SECONDS);
  });

  it('reads the headers case-insensitively', () => {
    const headers = { 'Webhook-Id': VECTOR.msgId, 'WEBHOOK-TIMESTAMP': String(VECTOR.timestamp), 'webhook-Signature': VECTOR.signature };
    new WebhookSigner(VECTOR.secret).verify(VECTOR.body, headers, VECTOR.timestamp);
  });

  it('rejects a tampered body', () => {
    const err = verifyError(() => new WebhookSigner(VECTOR.secret).verify('{"test": 2432232315}', vectorHeaders(), VECTOR.timestamp));
    assert.match(err.message, /no matching signature/i);
  });

  it('rejects a signature made with another secret', () => {
    const other = new WebhookSigner(generateWebhookSecret());
    verifyError(() => other.verify(VECTOR.body, vectorHeaders(), VECTOR.timestamp));
  });

  it('rejects a timestamp older than the tolerance, even with a valid signature', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    const err = verifyError(() => signer.verify(VECTOR.body, vectorHeaders(), VECTOR.timestamp + WEBHOOK_TOLERANCE_SECONDS + 1));
    assert.match(err.message, /too old/);
  });

  it('rejects a timestamp too far in the future', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    const err = verifyError(() => signer.verify(VECTOR.body, vectorHeaders(), VECTOR.timestamp - WEBHOOK_TOLERANCE_SECONDS - 1));
    assert.match(err.message, /too new/);
  });

  it('rejects a message whose timestamp was changed after signing', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    verifyError(() => signer.verify(VECTOR.body, vectorHeaders(VECTOR.signature, VECTOR.timestamp + 1), VECTOR.timestamp));
  });

  it('rejects missing headers and signatures of other versions', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    verifyError(() => signer.verify(VECTOR.body, { 'webhook-id': VECTOR.msgId }, VECTOR.timestamp));
    const v1a = VECTOR.signature.replace(/^v1,/, 'v1a,');
    verifyError(() => signer.verify(VECTOR.body, vectorHeaders(v1a), VECTOR.timestamp));
  });

  it('during a rotation signs with every secret and each secret alone verifies', () => {
    const newSecret = generateWebhookSecret();
    const header = new WebhookSigner([VECTOR.secret, newSecret]).sign(VECTOR.msgId, VECTOR.timestamp, VECTOR.body);
    const parts = header.split(' ');
    assert.equal(parts.length, 2);
    assert.equal(parts[0], VECTOR.signature);
    assert.match(parts[1], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(parts[1], parts[0]);
    new WebhookSigner(VECTOR.secret).verify(VECTOR.body, vectorHeaders(header), VECTOR.timestamp);
    new WebhookSigner(newSecret).verify(VECTOR.body, vectorHeaders(header), VECTOR.timestamp);
  });

  it('matches a plain HMAC-SHA256 over "id.timestamp.body" with the base64-decoded secret', () => {
    const secret = generateWebhookSecret();
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.héllo`).digest('base64');
    assert.equal(new WebhookSigner(secret).sign('msg_1', 1700000000, 'héllo'), `v1,${expected}`);
  });

  it('generates whsec_ secrets of 24 random bytes that validate', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(Buffer.from(a.slice(6), 'base64').length, 24);
    assert.notEqual(a, b);
    assert.ok(isValidWebhookSecret(a));
  });

  it('refuses malformed secrets with a clear message that does not echo the secret', () => {
    const short = 'whsec_' + Buffer.alloc(8, 1).toString('base64');
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_not base64!!', short, 'whsec_']) {
      assert.equal(isValidWebhookSecret(bad), false, bad);
      assert.throws(
        () => new WebhookSigner(bad),
        (err: Error) =>
          /whsec_ followed by the base64 of 24 to 64 random bytes/.test(err.message) &&
          !err.message.includes(bad.replace(/^whsec_/, '') || '\u0000'),
      );
    }
    assert.throws(() => new WebhookSigner([]), /at least one secret/);
  });

  it('refuses a message id containing "." and a fractional timestamp', () => {
    const signer = new WebhookSigner(VECTOR.secret);
    assert.throws(() => signer.sign('msg.1', VECTOR.timestamp, ''), /contain no "."/);
    assert.throws(() => signer.sign('msg_1', 1.5, ''), RangeError);
  });
});
