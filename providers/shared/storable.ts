/**
 * Text as PostgreSQL can store it. PostgreSQL refuses a NUL character in `text` and `jsonb` (SQLSTATE 22021,
 * 22P05) and a lone UTF-16 surrogate in `jsonb` (22P02), and a `varchar(n)` refuses more than n characters
 * (22001). Every value the hub writes from outside text (a receiver's answer, a script's output) goes
 * through here first, so a hostile answer can never make a log write fail for ever.
 */

/** What a NUL character becomes: the six characters `\u0000`, so the log shows that one was sent. */
const NUL_ESCAPE = '\\u0000';
/** What a lone surrogate becomes: U+FFFD, as a UTF-8 decoder would make of it. */
const REPLACEMENT = '\ufffd';

const NUL = /\u0000/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANY_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/**
 * `text` with each NUL escaped as `\u0000`, each lone surrogate replaced by U+FFFD and, when `maxChars` is
 * given, cut to at most that many characters (ending in `…` when cut; a surrogate pair is never split).
 */
export function storableText(text: string, maxChars?: number): string {
  let out = String(text).replace(NUL, NUL_ESCAPE).replace(LONE_SURROGATE, REPLACEMENT);
  if (maxChars !== undefined && out.length > maxChars) {
    out = `${out.slice(0, Math.max(0, maxChars - 1))}…`.replace(LONE_SURROGATE, '');
  }
  return out;
}

/** `storableText` for an optional value: undefined and null stay as they are. */
export function storableOptional<T extends string | null | undefined>(text: T, maxChars?: number): T {
  return (typeof text === 'string' ? storableText(text, maxChars) : text) as T;
}

/**
 * A copy of a JSON-like value whose strings and keys are storable (see storableText; no length bound), for
 * values written to `jsonb`. Iterative, so a deeply nested value cannot overflow the stack; numbers JSON
 * cannot hold (Infinity, NaN) become null, as JSON.stringify would make them anyway.
 */
export function storableJson(value: unknown): unknown {
  const root: { v: unknown } = { v: undefined };
  const stack: Array<{ from: unknown; put: (v: unknown) => void }> = [{ from: value, put: (v) => (root.v = v) }];
  while (stack.length) {
    const { from, put } = stack.pop()!;
    if (typeof from === 'string') put(storableText(from));
    else if (typeof from === 'number') put(Number.isFinite(from) ? from : null);
    else if (Array.isArray(from)) {
      const arr: unknown[] = new Array(from.length);
      put(arr);
      from.forEach((v, i) => stack.push({ from: v, put: (x) => (arr[i] = x) }));
    } else if (from && typeof from === 'object' && !(from instanceof Date)) {
      // an own property, even one named __proto__, stays an own property
      const obj: Record<string, unknown> = {};
      put(obj);
      const own = (key: string, x: unknown) => Object.defineProperty(obj, key, { value: x, enumerable: true, writable: true, configurable: true });
      for (const [k, v] of Object.entries(from)) {
        const key = storableText(k);
        own(key, undefined); // the keys in their order now; the values as the walk reaches them
        stack.push({ from: v, put: (x) => own(key, x) });
      }
    } else put(from);
  }
  return root.v;
}

/** What keeps `text` from being stored as it is: a NUL, a lone surrogate, or undefined when nothing does. */
export function unstorableReason(text: string): 'nul' | 'lone_surrogate' | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (ANY_LONE_SURROGATE.test(text)) return 'lone_surrogate';
  return undefined;
}
