import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * One secret at rest (docs/DESIGN.md decision 4): AES-256-GCM, base64 fields, stored as JSON beside the row.
 * `kid` names the key that encrypted it, so old keys keep decrypting after rotation.
 */
export interface EncryptedValue {
  v: 1;
  kid: string;
  /** 12 random bytes, base64. */
  iv: string;
  /** 16-byte GCM auth tag, base64. */
  tag: string;
  ct: string;
  /** Set when the plaintext was a non-string JSON value (a secret map or number); absent for strings. */
  enc?: 'json';
}

/** Encrypts with the current key, decrypts with any known key (cf. inngest-js encryption strategies). */
export interface SecretBox {
  encrypt(plaintext: string): EncryptedValue;
  /** Throws SecretDecryptError for an unknown key id, a tampered value or a malformed one. */
  decrypt(v: EncryptedValue): string;
  readonly currentKeyId: string;
  /** True when the value was encrypted with a key other than the current one (rotation pending). */
  needsReencrypt(v: EncryptedValue): boolean;
}

/** A stored secret could not be decrypted. The message names the key id, never the data. */
export class SecretDecryptError extends Error {
  override readonly name = 'SecretDecryptError';
  constructor(
    readonly kid: string,
    reason: string,
  ) {
    super(`cannot decrypt secret encrypted with key id ${kid}: ${reason}`);
  }
}

/** Master keys shorter than this are refused: they are guessable whatever the KDF. */
const MIN_MASTER_KEY_LENGTH = 16;

const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed, app-specific HKDF inputs: the same master key used elsewhere yields an unrelated key here.
const HKDF_SALT = 'integrations-hub/secrets-at-rest/salt/v1';
const HKDF_INFO = 'integrations-hub/secrets-at-rest/aes-256-gcm/v1';

interface Key {
  kid: string;
  key: Buffer;
}

function deriveKey(masterKey: string): Key {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), HKDF_SALT, HKDF_INFO, 32));
  // A digest of the derived key identifies it without revealing it or the master key.
  const kid = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return { kid, key };
}

// Version and key id are bound as AAD: part of the v1 format, so a later format can never accept v1 bytes as its own.
function aad(kid: string): Buffer {
  return Buffer.from(`integrations-hub:v1:${kid}`, 'utf8');
}

// The kid goes into error messages: only show it if it looks like one, never arbitrary stored text.
function printableKid(value: unknown): string {
  const kid = (value as { kid?: unknown } | null)?.kid;
  return typeof kid === 'string' && /^[0-9a-f]{1,16}$/.test(kid) ? kid : '(invalid)';
}

/** True for a value shaped like an EncryptedValue (what encryptFields wrote). */
export function isEncryptedValue(value: unknown): value is EncryptedValue {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.v === 1 &&
    typeof v.kid === 'string' &&
    typeof v.iv === 'string' &&
    typeof v.tag === 'string' &&
    typeof v.ct === 'string'
  );
}

/**
 * Builds a SecretBox from master keys: the first encrypts (`ENCRYPTION_MASTER_KEY`), all decrypt
 * (`ENCRYPTION_PREVIOUS_KEYS` follow). Throws on no keys or a key under 16 characters.
 */
export function createSecretBox(masterKeys: string[]): SecretBox {
  if (masterKeys.length === 0) throw new Error('at least one encryption master key is required');
  const keys = new Map<string, Buffer>();
  masterKeys.forEach((masterKey, i) => {
    const name = i === 0 ? 'ENCRYPTION_MASTER_KEY' : `previous encryption key #${i}`;
    if (typeof masterKey !== 'string' || masterKey.length < MIN_MASTER_KEY_LENGTH) {
      throw new Error(`${name} is too short: use at least ${MIN_MASTER_KEY_LENGTH} characters`);
    }
    const { kid, key } = deriveKey(masterKey);
    if (!keys.has(kid)) keys.set(kid, key);
  });
  const currentKeyId = keys.keys().next().value as string;
  const currentKey = keys.get(currentKeyId)!;

  return {
    currentKeyId,
    encrypt(plaintext: string): EncryptedValue {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(currentKeyId));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return {
        v: 1,
        kid: currentKeyId,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ct: ct.toString('base64'),
      };
    },
    decrypt(value: EncryptedValue): string {
      const kid = printableKid(value);
      if (!isEncryptedValue(value)) throw new SecretDecryptError(kid, 'not an encrypted value');
      const key = keys.get(value.kid);
      if (!key) throw new SecretDecryptError(kid, 'no such key configured (add it to ENCRYPTION_PREVIOUS_KEYS)');
      const iv = Buffer.from(value.iv, 'base64');
      const tag = Buffer.from(value.tag, 'base64');
      // Node accepts short GCM tags unless told otherwise; a truncated tag is a forgery aid.
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptError(kid, 'malformed value');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(value.kid));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(value.ct, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptError(kid, 'authentication failed (value was altered or key is wrong)');
      }
    },
    needsReencrypt(value: EncryptedValue): boolean {
      return value.kid !== currentKeyId;
    },
  };
}
