/**
 * The one place error text is made safe to store, log or return (docs/DESIGN.md decision 5).
 * Masks are `***`; the non-secret part around them (scheme, host, parameter name) is kept so the
 * message stays readable.
 */

const MASK = '***';
const MIN_SECRET_LENGTH = 4;

// Parameter names whose values are credentials or signatures, in query strings and form bodies.
const SECRET_PARAMS = [
  'sig', 'signature', 'token', 'access_token', 'refresh_token', 'id_token', 'key', 'api_key', 'apikey',
  'api-key', 'secret', 'client_secret', 'password', 'passwd', 'pwd', 'code', 'auth', 'authorization',
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential',
  'awsaccesskeyid', 'session_token', 'private_token',
].join('|');

// JSON keys whose string values are secrets. Narrower than the above: "code" and "key" in JSON are
// usually error codes and field names the admin needs to read.
const SECRET_JSON_KEYS = [
  'token', 'access_token', 'refresh_token', 'id_token', 'api_key', 'apikey', 'secret', 'client_secret',
  'password', 'signature', 'private_token', 'session_token',
].join('|');

// [pattern, replacement], applied in order after the known secret values are gone.
const RULES: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // https://user:pass@host -> https://***@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${MASK}@`],
  // ?sig=...&token=... (also ; and form bodies) -> sig=***
  [new RegExp(`(^|[?&;\\s,"'])(${SECRET_PARAMS})=[^&\\s#"'<>]+`, 'gi'), `$1$2=${MASK}`],
  // "access_token": "..." in echoed JSON
  [new RegExp(`("(?:${SECRET_JSON_KEYS})"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1${MASK}"`],
  // Authorization header values, whatever the scheme.
  [/(\bauthorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|bot|token|digest|geniekey)\s+)?[^\s"',;]+/gi,
    (_m, prefix: string, scheme?: string) => `${prefix}${scheme ? `${scheme} ` : ''}${MASK}`],
  [/\b(bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi, `$1${MASK}`],
  [/\b(basic\s+)([A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])/gi,
    (m, prefix: string, value: string) => (isBasicCredential(value) ? `${prefix}${MASK}` : m)],
  // Well-known token shapes (a JWT); a provider's own shapes come from its `redact` hook (below).
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, MASK],
];

/**
 * A secret shape one provider knows (a token-bearing URL path, a token format): `pattern` is applied to the
 * whole text (globally), each match replaced by `replacement`, which may keep groups around the mask
 * (`'$1***'`). Declared on the provider definition (`redact`), so a provider's shapes live with it.
 */
export interface Redaction {
  pattern: RegExp;
  replacement: string;
}

/** Shapes by owner (provider id), applied after the general rules, in registration order. */
const redactions = new Map<string, Array<[RegExp, string]>>();

/**
 * Makes `sanitise` mask the shapes `owner` declares, in every text from now on (logs, stored attempts and
 * answers of any provider, since one provider's secret can end up in another's text); a second call for the
 * same owner replaces its shapes. The provider registry calls it for each provider it registers (built-in or
 * plugin). A pattern that is not a RegExp, or a replacement that is not a string, is refused.
 */
export function registerRedactions(owner: string, rules: readonly Redaction[]): void {
  if (!Array.isArray(rules)) throw new TypeError(`redact of ${owner} must be an array of { pattern, replacement }`);
  const compiled = rules.map((r, i): [RegExp, string] => {
    if (!(r?.pattern instanceof RegExp) || typeof r.replacement !== 'string') {
      throw new TypeError(`redact[${i}] of ${owner} must be { pattern: RegExp, replacement: string }`);
    }
    return [r.pattern.global ? r.pattern : new RegExp(r.pattern.source, `${r.pattern.flags}g`), r.replacement];
  });
  redactions.set(owner, compiled);
}

/** True when `value` is base64 of "user:password" (so "Basic authentication failed" survives). */
function isBasicCredential(value: string): boolean {
  if (value.length % 4 !== 0) return false;
  return Buffer.from(value, 'base64').toString('utf8').includes(':');
}

/** The forms a secret value can take in text: as is, URL-encoded, JSON-escaped, base64. */
function secretForms(secret: string): string[] {
  const b64 = Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, '');
  const forms = [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
    JSON.stringify(secret).slice(1, -1),
    b64,
    b64.replace(/\+/g, '-').replace(/\//g, '_'),
  ];
  return forms.filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** Path segments and query values at least this long, of a secret that is a URL, are secrets on their own. */
const MIN_URL_PART_LENGTH = 16;

/**
 * The token-bearing parts of a secret that is a URL (a Discord or Slack webhook URL, a signed link): its
 * credentials, long path segments and long query values. Sent to another base URL (a proxy, an `apiBaseUrl`),
 * the URL as a whole no longer appears in the text, but these parts still do.
 */
function urlParts(secret: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) return [];
  let url: URL;
  try {
    url = new URL(secret);
  } catch {
    return [];
  }
  const parts = [url.username, url.password, ...url.pathname.split('/'), ...[...url.searchParams.values()]];
  return parts.map((p) => safeDecode(p)).filter((p) => p.length >= MIN_URL_PART_LENGTH);
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Removes known secret values (and their encoded forms; values under 4 characters are ignored; of a secret URL,
 * also its long path segments and query values),
 * URL credentials, secret query parameters, Authorization values, JWTs and the secret shapes registered
 * providers declare (`registerRedactions`: token-bearing URL paths, token formats); collapses whitespace;
 * truncates to `maxLength` characters ending in `…`.
 */
export function sanitise(text: string, secrets: Iterable<string> = [], maxLength = 1000): string {
  let out = maskSecrets(text, secrets);
  out = out.replace(/\s+/g, ' ').trim();
  if (out.length > maxLength) out = `${out.slice(0, Math.max(0, maxLength - 1))}…`;
  return out;
}

/**
 * What `sanitise` masks (known secret values and their forms, URL credentials, secret parameters, token-bearing
 * paths, Authorization values, token shapes), without collapsing whitespace or cutting: for texts whose layout
 * is worth keeping, such as the request and response bodies kept with an attempt.
 */
export function maskSecrets(text: string, secrets: Iterable<string> = []): string {
  let out = String(text);
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    for (const part of [secret, ...urlParts(secret)]) secretForms(part).forEach((f) => forms.add(f));
  }
  // Longest first, so a secret containing another is removed whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(MASK);
  for (const [pattern, replacement] of RULES) {
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  for (const rules of redactions.values()) for (const [pattern, replacement] of rules) out = out.replace(pattern, replacement);
  return out;
}

/** Longest error code kept: the `delivery_attempts.error_code` column is varchar(100). */
export const MAX_ERROR_CODE_CHARS = 100;

/**
 * A provider-derived error code (Slack's `error`, an OAuth `error`, ...) made safe to store, log and use as a
 * workflow value: sanitised with the delivery's secrets (before it is cut, so no part of a secret survives),
 * at most MAX_ERROR_CODE_CHARS characters.
 */
export function sanitiseCode(code: string, secrets: Iterable<string> = []): string {
  return sanitise(code, secrets, MAX_ERROR_CODE_CHARS);
}

/**
 * A safe one-line description of anything thrown: only name, code, HTTP status and message are
 * read (never config, headers, request or response bodies), then sanitised.
 */
export function safeErrorMessage(err: unknown, secrets?: Iterable<string>): string {
  return sanitise(describe(err), secrets);
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err === null || typeof err !== 'object') {
    return err === undefined || err === null ? 'Unknown error' : `Thrown value: ${String(err)}`;
  }
  try {
    const e = err as Record<string, unknown>;
    // axios copies the low-level error's name ("Error") onto its own; say what it is.
    const name = e.isAxiosError === true ? 'AxiosError' : scalar(e.name, 60) ?? (err instanceof Error ? 'Error' : 'Object');
    const code = scalar(e.code, 60);
    const status = httpStatus(e);
    const message = scalar(e.message, 2000);
    const head = [name, code && `[${code}]`, status !== undefined && `(HTTP ${status})`].filter(Boolean).join(' ');
    return message ? `${head}: ${message}` : head;
  } catch {
    return 'Unreadable error'; // a throwing getter must not turn error reporting into a crash
  }
}

function scalar(value: unknown, max: number): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value.slice(0, max);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function httpStatus(e: Record<string, unknown>): number | undefined {
  const direct = e.status ?? e.statusCode;
  if (typeof direct === 'number') return direct;
  // axios errors: read the status only, never the rest of `response`.
  const response = e.response;
  if (response && typeof response === 'object') {
    const status = (response as { status?: unknown }).status;
    if (typeof status === 'number') return status;
  }
  return undefined;
}
