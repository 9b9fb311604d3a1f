import assert from 'node:assert/strict';
import { z } from 'zod';
import { createSecretBox, SecretDecryptError, type EncryptedValue } from '../../src/secrets/crypto';
import {
  decryptFields,
  encryptFields,
  maskFields,
  mergeSecretFields,
  reencryptFields,
  secretValues,
} from '../../src/secrets/fields';
import { secretPathsFromJsonSchema } from '../../providers/shared/secret-field';

const OLD_KEY = 'old-master-key-0123456789abcdef';
const NEW_KEY = 'new-master-key-fedcba9876543210';
const SECRET = 'xoxb-1234-very-secret-token';

const flip = (b64: string): string => {
  const buf = Buffer.from(b64, 'base64');
  buf[0] ^= 0x01;
  return buf.toString('base64');
};

describe('SecretBox', () => {
  const box = createSecretBox([NEW_KEY]);

  it('decrypts what it encrypted, including non-ASCII text', () => {
    assert.equal(box.decrypt(box.encrypt(SECRET)), SECRET);
    assert.equal(box.decrypt(box.encrypt('pässwörd ✓')), 'pässwörd ✓');
    assert.equal(box.decrypt(box.encrypt('')), '');
  });

  it('stores a JSON-serialisable value with a 12-byte IV, a 16-byte tag and the key id', () => {
    const v = box.encrypt(SECRET);
    assert.deepEqual(Object.keys(v).sort(), ['ct', 'iv', 'kid', 'tag', 'v']);
    assert.equal(v.v, 1);
    assert.equal(v.kid, box.currentKeyId);
    assert.equal(Buffer.from(v.iv, 'base64').length, 12);
    assert.equal(Buffer.from(v.tag, 'base64').length, 16);
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  });

  it('never carries the plaintext, in text or in bytes', () => {
    const v = box.encrypt(SECRET);
    assert.ok(!JSON.stringify(v).includes(SECRET));
    assert.ok(!Buffer.from(v.ct, 'base64').includes(Buffer.from(SECRET)));
  });

  it('encrypts the same plaintext differently each time (random IV)', () => {
    const a = box.encrypt(SECRET);
    const b = box.encrypt(SECRET);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.ct, b.ct);
  });

  it('derives an 8-hex key id that is stable per master key and differs between keys', () => {
    assert.match(box.currentKeyId, /^[0-9a-f]{8}$/);
    assert.equal(createSecretBox([NEW_KEY]).currentKeyId, box.currentKeyId);
    assert.notEqual(createSecretBox([OLD_KEY]).currentKeyId, box.currentKeyId);
  });

  it('throws SecretDecryptError naming the kid, not the data, when the ciphertext was altered', () => {
    const v = box.encrypt(SECRET);
    assert.throws(
      () => box.decrypt({ ...v, ct: flip(v.ct) }),
      (err: unknown) =>
        err instanceof SecretDecryptError &&
        err.kid === v.kid &&
        err.message.includes(v.kid) &&
        !err.message.includes(SECRET) &&
        !err.message.includes(v.ct),
    );
  });

  it('throws SecretDecryptError when the tag was altered or truncated', () => {
    const v = box.encrypt(SECRET);
    assert.throws(() => box.decrypt({ ...v, tag: flip(v.tag) }), SecretDecryptError);
    const short = Buffer.from(v.tag, 'base64').subarray(0, 4).toString('base64');
    assert.throws(() => box.decrypt({ ...v, tag: short }), SecretDecryptError);
  });

  it('throws SecretDecryptError when the IV was altered', () => {
    const v = box.encrypt(SECRET);
    assert.throws(() => box.decrypt({ ...v, iv: flip(v.iv) }), SecretDecryptError);
  });

  it('throws SecretDecryptError naming an unknown kid', () => {
    const v = createSecretBox([OLD_KEY]).encrypt(SECRET);
    assert.throws(() => box.decrypt(v), (err: unknown) => err instanceof SecretDecryptError && err.message.includes(v.kid));
  });

  it('refuses a value relabelled with another known key id', () => {
    const both = createSecretBox([NEW_KEY, OLD_KEY]);
    const oldKid = createSecretBox([OLD_KEY]).currentKeyId;
    const v = both.encrypt(SECRET);
    assert.throws(() => both.decrypt({ ...v, kid: oldKid }), SecretDecryptError);
  });

  it('refuses master keys shorter than 16 characters without echoing them', () => {
    assert.throws(
      () => createSecretBox(['short-key-123']),
      (err: unknown) => err instanceof Error && /at least 16 characters/.test(err.message) && !err.message.includes('short-key-123'),
    );
    assert.throws(() => createSecretBox([NEW_KEY, 'tiny']), /previous encryption key #1 is too short/);
    assert.throws(() => createSecretBox([]), /at least one/);
  });
});

describe('key rotation', () => {
  const before = createSecretBox([OLD_KEY]);
  const after = createSecretBox([NEW_KEY, OLD_KEY]);

  it('decrypts values written with the previous key after rotation', () => {
    const stored = before.encrypt(SECRET);
    assert.equal(after.decrypt(stored), SECRET);
  });

  it('encrypts new values with the new key id', () => {
    assert.equal(after.currentKeyId, createSecretBox([NEW_KEY]).currentKeyId);
    assert.equal(after.encrypt(SECRET).kid, after.currentKeyId);
  });

  it('flags only values under an old key as needing re-encryption', () => {
    assert.equal(after.needsReencrypt(before.encrypt(SECRET)), true);
    assert.equal(after.needsReencrypt(after.encrypt(SECRET)), false);
  });

  it('re-encrypts old fields under the new key and reports whether anything changed', () => {
    const row = encryptFields({ url: 'https://x', token: SECRET }, ['token'], before);
    const { value, changed } = reencryptFields(row, ['token'], after);
    assert.equal(changed, true);
    assert.equal((value.token as EncryptedValue).kid, after.currentKeyId);
    assert.equal(decryptFields(value, ['token'], createSecretBox([NEW_KEY])).token, SECRET);
    assert.equal(reencryptFields(value, ['token'], after).changed, false);
  });

  it('cannot decrypt old values once the old key is dropped', () => {
    assert.throws(() => createSecretBox([NEW_KEY]).decrypt(before.encrypt(SECRET)), SecretDecryptError);
  });
});

describe('secret fields of a config', () => {
  const box = createSecretBox([NEW_KEY]);
  const paths = ['token', 'auth.password', 'signing.secrets', 'headers.value', 'extra'];
  const config = () => ({
    url: 'https://hooks.example.com/in',
    token: SECRET,
    auth: { type: 'basic', username: 'bot', password: 'hunter2-hunter2' },
    signing: { secrets: ['whsec_one', 'whsec_two'] },
    headers: [
      { name: 'X-Api-Key', value: 'key-1' },
      { name: 'X-Other', value: 'key-2' },
    ],
    extra: { Authorization: 'Bearer abc' },
  });

  it('encrypts every secret, leaves other fields alone and does not touch its input', () => {
    const input = config();
    const stored = encryptFields(input, paths, box);
    assert.deepEqual(input, config());
    assert.equal(stored.url, input.url);
    assert.equal((stored.auth as { username: string }).username, 'bot');
    const text = JSON.stringify(stored);
    for (const s of [SECRET, 'hunter2-hunter2', 'whsec_one', 'whsec_two', 'key-1', 'key-2', 'Bearer abc']) {
      assert.ok(!text.includes(s), s);
    }
    assert.equal(((stored.signing as { secrets: EncryptedValue[] }).secrets[1]).kid, box.currentKeyId);
  });

  it('decrypts back to the original config, including a non-string secret', () => {
    const stored = encryptFields(config(), paths, box);
    assert.equal((stored.extra as EncryptedValue).enc, 'json');
    assert.deepEqual(decryptFields(stored, paths, box), config());
  });

  it('does not encrypt an already encrypted value twice', () => {
    const once = encryptFields(config(), paths, box);
    assert.deepEqual(encryptFields(once, paths, box), once);
  });

  it('masks each present secret as {set: true}, array elements one by one', () => {
    const masked = maskFields(encryptFields(config(), paths, box), paths);
    assert.deepEqual(masked, {
      url: 'https://hooks.example.com/in',
      token: { set: true },
      auth: { type: 'basic', username: 'bot', password: { set: true } },
      signing: { secrets: [{ set: true }, { set: true }] },
      headers: [
        { name: 'X-Api-Key', value: { set: true } },
        { name: 'X-Other', value: { set: true } },
      ],
      extra: { set: true },
    });
  });

  it('leaves absent and null secrets absent and null when masking', () => {
    assert.deepEqual(maskFields({ url: 'u', token: null }, ['token', 'auth.password']), { url: 'u', token: null });
  });

  it('keeps stored secrets the patch leaves out or sends back masked', () => {
    const stored = encryptFields(config(), paths, box);
    const patch = {
      url: 'https://hooks.example.com/new',
      auth: { type: 'basic', username: 'bot2', password: { set: true } },
      signing: { secrets: [{ set: true }, 'whsec_three'] },
      headers: [{ name: 'X-Api-Key', value: { set: true } }],
    };
    const merged = mergeSecretFields(stored, patch, paths);
    assert.equal(merged.url, 'https://hooks.example.com/new');
    assert.deepEqual(merged.token, stored.token);
    const auth = merged.auth as Record<string, unknown>;
    assert.equal(auth.username, 'bot2');
    assert.deepEqual(auth.password, (stored.auth as Record<string, unknown>).password);
    const secrets = (merged.signing as { secrets: unknown[] }).secrets;
    assert.deepEqual(secrets[0], (stored.signing as { secrets: unknown[] }).secrets[0]);
    assert.equal(secrets[1], 'whsec_three');
    assert.equal((merged.headers as unknown[]).length, 1, 'a removed header stays removed');
    assert.deepEqual(decryptFields(encryptFields(merged, paths, box), paths, box), {
      url: 'https://hooks.example.com/new',
      token: SECRET,
      auth: { type: 'basic', username: 'bot2', password: 'hunter2-hunter2' },
      signing: { secrets: ['whsec_one', 'whsec_three'] },
      headers: [{ name: 'X-Api-Key', value: 'key-1' }],
      extra: { Authorization: 'Bearer abc' },
    });
  });

  it('replaces a secret the patch sets and clears one it sets to null', () => {
    const stored = encryptFields(config(), paths, box);
    const merged = mergeSecretFields(stored, { url: 'u', token: 'new-token', extra: null }, paths);
    assert.equal(merged.token, 'new-token');
    assert.equal(merged.extra, null);
  });

  it('does not recreate a parent object the patch left out', () => {
    const stored = encryptFields(config(), paths, box);
    assert.equal('auth' in mergeSecretFields(stored, { url: 'u' }, paths), false);
  });

  it('refuses to encrypt a {set: true} that has no stored value behind it', () => {
    assert.throws(() => encryptFields({ token: { set: true } }, ['token'], box), /token/);
  });

  it('treats a "__proto__" map key as plain data', () => {
    const input = JSON.parse('{"headers": {"__proto__": "s3cret-value"}}') as Record<string, unknown>;
    const stored = encryptFields(input, ['headers.*'], box);
    const headers = stored.headers as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
    assert.ok(Object.prototype.hasOwnProperty.call(headers, '__proto__'));
    const back = decryptFields(stored, ['headers.*'], box).headers as Record<string, unknown>;
    assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, 's3cret-value');
  });

  it('lists the plaintext secret values for the error sanitiser', () => {
    assert.deepEqual(secretValues(config(), paths).sort(), [
      'Bearer abc', 'hunter2-hunter2', 'key-1', 'key-2', SECRET, 'whsec_one', 'whsec_two',
    ].sort());
  });
});

describe('secretPathsFromJsonSchema', () => {
  const secret = { 'x-secret': true, writeOnly: true } as const;

  it('finds zod .meta x-secret fields in nested objects, discriminated unions, arrays and maps', () => {
    const schema = z
      .object({
        url: z.string().url(),
        token: z.string().meta(secret).optional(),
        auth: z.discriminatedUnion('type', [
          z.object({ type: z.literal('basic'), username: z.string(), password: z.string().meta(secret) }),
          z.object({ type: z.literal('bearer'), token: z.string().meta(secret) }),
          z.object({ type: z.literal('none') }),
        ]),
        signing: z.object({ secrets: z.array(z.string().meta(secret)) }),
        headers: z.array(z.object({ name: z.string(), value: z.string().meta(secret) })),
        extraHeaders: z.record(z.string(), z.string().meta(secret)),
        apiKeys: z.array(z.string()).meta(secret).optional(),
        note: z.string().meta(secret).nullable().optional(),
      })
      .strict();
    const json = z.toJSONSchema(schema);
    assert.ok(JSON.stringify(json).includes('"x-secret":true'), 'zod keeps the marker');
    assert.deepEqual(secretPathsFromJsonSchema(json), [
      'apiKeys',
      'auth.password',
      'auth.token',
      'extraHeaders.*',
      'headers.value',
      'note',
      'signing.secrets',
      'token',
    ]);
  });

  it('follows local $refs, and ends a recursive one', () => {
    const schema = {
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' }, creds: { $ref: '#/$defs/creds' }, backup: { $ref: '#/$defs/creds' } },
      $defs: {
        node: { type: 'object', properties: { name: { type: 'string' }, child: { $ref: '#/$defs/node' } } },
        creds: { type: 'object', properties: { password: { type: 'string', 'x-secret': true } } },
      },
    };
    assert.deepEqual(secretPathsFromJsonSchema(schema), ['backup.password', 'creds.password']);
  });

  it('refuses a secret inside a recursive definition rather than miss deeper copies of it', () => {
    const schema = {
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' } },
      $defs: { node: { type: 'object', properties: { key: { 'x-secret': true }, child: { $ref: '#/$defs/node' } } } },
    };
    assert.throws(() => secretPathsFromJsonSchema(schema), /recursive schema #\/\$defs\/node/);
  });

  it('returns no paths for a schema without secrets or for a non-object', () => {
    assert.deepEqual(secretPathsFromJsonSchema({ type: 'object', properties: { a: { type: 'string' } } }), []);
    assert.deepEqual(secretPathsFromJsonSchema(undefined), []);
  });
});
