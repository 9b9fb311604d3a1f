import { isEncryptedValue, type EncryptedValue, type SecretBox } from './crypto';

/*
 * Secret field paths are dot paths into a config object, e.g. `token`, `auth.password`, `signing.secrets`.
 * Arrays are walked implicitly: `headers.value` means the `value` of every element of `headers`, and a
 * path ending on an array (an array of secret strings) treats each element as one secret.
 * A `*` segment means every key of a map (`additionalProperties` in the schema).
 * Every helper returns a copy and leaves its input untouched.
 * Which paths are secret comes from the provider's schema: providers/shared/secret-field.ts (secretPathsFromJsonSchema).
 */

/** What a secret looks like on every read: it is set, and that is all a reader learns. */
export interface SecretMask {
  set: true;
}

/** True for `{ set: true }`, the masked form a client may send back unchanged. */
function isSecretMask(value: unknown): value is SecretMask {
  return isPlainObject(value) && value.set === true && Object.keys(value).length === 1;
}

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

// defineProperty, not assignment: a user-supplied "__proto__" key must stay a plain data property.
function withKey(obj: Json, key: string, value: unknown): Json {
  const copy = { ...obj };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function splitPaths(paths: readonly string[]): string[][] {
  return [...new Set(paths)].filter((p) => p.length > 0).map((p) => p.split('.'));
}

/** Applies `fn` to each non-null value found at `segs` below `node`; returns `node` itself when nothing changed. */
function mapAt(node: unknown, segs: string[], at: string, fn: (value: unknown, path: string) => unknown): unknown {
  if (Array.isArray(node)) {
    let changed = false;
    const out = node.map((el, i) => {
      const next = mapAt(el, segs, `${at}.${i}`, fn);
      changed ||= next !== el;
      return next;
    });
    return changed ? out : node;
  }
  if (segs.length === 0) return node === undefined || node === null ? node : fn(node, at);
  if (!isPlainObject(node) || isEncryptedValue(node) || isSecretMask(node)) return node;
  const [head, ...rest] = segs;
  let out = node;
  for (const key of head === '*' ? Object.keys(node) : [head]) {
    if (!Object.prototype.hasOwnProperty.call(node, key)) continue;
    const next = mapAt(node[key], rest, at ? `${at}.${key}` : key, fn);
    if (next !== node[key]) out = withKey(out, key, next);
  }
  return out;
}

function mapFields(obj: Json, paths: readonly string[], fn: (value: unknown, path: string) => unknown): Json {
  return splitPaths(paths).reduce<Json>((acc, segs) => mapAt(acc, segs, '', fn) as Json, obj);
}

/**
 * Encrypts every secret field with the box's current key. Strings are encrypted as they are; other
 * values as JSON (`enc: 'json'`). Already-encrypted values are kept. Throws if a field still holds
 * `{set: true}`: merge with the stored config (mergeSecretFields) before encrypting.
 */
export function encryptFields(obj: Json, paths: readonly string[], box: SecretBox): Json {
  return mapFields(obj, paths, (value, path) => {
    if (isEncryptedValue(value)) return value;
    if (isSecretMask(value)) throw new Error(`secret field ${path} is {"set": true} but has no stored value`);
    if (typeof value === 'string') return box.encrypt(value);
    return { ...box.encrypt(JSON.stringify(value)), enc: 'json' } satisfies EncryptedValue;
  });
}

/** Decrypts every encrypted secret field (in memory only, docs/DESIGN.md decision 3); plain values pass through. */
export function decryptFields(obj: Json, paths: readonly string[], box: SecretBox): Json {
  return mapFields(obj, paths, (value) => {
    if (!isEncryptedValue(value)) return value;
    const plaintext = box.decrypt(value);
    return value.enc === 'json' ? JSON.parse(plaintext) : plaintext;
  });
}

/** Replaces every present secret field (encrypted or not) with `{ set: true }`, for every API read. */
export function maskFields(obj: Json, paths: readonly string[]): Json {
  return mapFields(obj, paths, (): SecretMask => ({ set: true }));
}

/**
 * Re-encrypts secret fields encrypted with an old key under the current key (the rotation command).
 * `changed` says whether the row needs writing back.
 */
export function reencryptFields(obj: Json, paths: readonly string[], box: SecretBox): { value: Json; changed: boolean } {
  const value = mapFields(obj, paths, (v) => {
    if (!isEncryptedValue(v) || !box.needsReencrypt(v)) return v;
    const again = box.encrypt(box.decrypt(v));
    return v.enc === 'json' ? { ...again, enc: 'json' } : again;
  });
  return { value, changed: value !== obj };
}

/** The plaintext secret strings of a decrypted config, for the error sanitiser (docs/DESIGN.md decision 5). */
export function secretValues(obj: Json, paths: readonly string[]): string[] {
  const found = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length > 0) found.add(v);
    } else if (Array.isArray(v)) v.forEach(collect);
    else if (isPlainObject(v) && !isEncryptedValue(v) && !isSecretMask(v)) Object.values(v).forEach(collect);
  };
  mapFields(obj, paths, (v) => (collect(v), v));
  return [...found];
}

/** Parallel walk of patch and stored: fills secrets the patch left out or masked from the stored side. */
function mergeAt(patch: unknown, stored: unknown, segs: string[]): unknown {
  if (segs.length === 0) {
    if (patch === undefined || isSecretMask(patch)) return stored ?? patch;
    if (Array.isArray(patch)) {
      const old = Array.isArray(stored) ? stored : [];
      return patch.map((el, i) => (isSecretMask(el) && old[i] !== undefined ? old[i] : el));
    }
    return patch;
  }
  if (Array.isArray(patch)) {
    return patch.map((el, i) => mergeAt(el, Array.isArray(stored) ? stored[i] : undefined, segs));
  }
  // The patch decides the shape: a parent object it left out is not recreated from the stored side.
  if (!isPlainObject(patch)) return patch;
  const old = isPlainObject(stored) ? stored : {};
  const [head, ...rest] = segs;
  let out = patch;
  const keys = head === '*' ? Object.keys(patch) : [head];
  for (const key of keys) {
    const mine = Object.prototype.hasOwnProperty.call(patch, key) ? patch[key] : undefined;
    const theirs = Object.prototype.hasOwnProperty.call(old, key) ? old[key] : undefined;
    const next = mergeAt(mine, theirs, rest);
    if (next !== mine && next !== undefined) out = withKey(out, key, next);
  }
  return out;
}

/**
 * PATCH semantics for secrets (docs/API.md "PATCH and secrets"): the patch's config wins, except that a secret
 * it leaves out, or sends back as `{ set: true }`, keeps the stored value. An explicit `null` clears it.
 * Works on stored values either encrypted or decrypted; decrypt-merge-validate-encrypt is the usual order.
 * Elements of secret arrays are matched by index.
 */
export function mergeSecretFields(stored: Json, patch: Json, paths: readonly string[]): Json {
  return splitPaths(paths).reduce<Json>((acc, segs) => mergeAt(acc, stored, segs) as Json, patch);
}

/** Stands in for a stored secret during a merge, to see which ones the merge kept. */
class Kept {
  constructor(
    readonly pattern: string,
    readonly path: string,
  ) {}
}

/**
 * The secrets a PATCH keeps from the stored config (left out, or sent back as `{set: true}`), as
 * the concrete path of each (`auth.token`, `signing.secrets.0`, `secrets.API_TOKEN`) and the schema path
 * (`pattern`) it belongs to. Same rules as mergeSecretFields.
 */
export function keptSecrets(stored: Json, patch: Json, paths: readonly string[]): { pattern: string; path: string }[] {
  const marked = [...new Set(paths)].reduce<Json>((acc, p) => mapFields(acc, [p], (_v, at) => new Kept(p, at)), stored);
  const kept: Kept[] = [];
  mapFields(mergeSecretFields(marked, patch, paths), paths, (v) => {
    if (v instanceof Kept && !kept.includes(v)) kept.push(v);
    return v;
  });
  return kept.map(({ pattern, path }) => ({ pattern, path }));
}
