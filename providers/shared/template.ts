import * as Mustache from 'mustache';
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import type { DeliveryContext, EventTypeInfo, FieldProblem } from '../types';
import { findMissingPath, type MissingPath } from './schema-paths';

/** What templates can read. It holds no config, so no secret can be templated into a request. */
export interface TemplateView {
  event: { id: string; type: string; occurredAt: string; systemIds: string[] };
  payload: Record<string, unknown>;
  deliveryId: string;
  subscription: { id: string; name: string };
}

/** Where a rendered template goes; it decides how each value is escaped. */
export type TemplateTarget = 'url' | 'header' | 'form' | 'json';

/** A template that cannot be parsed or rendered, or rendered to invalid JSON. The message holds no values. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** The view for one attempt. */
export function buildTemplateView(ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription'>): TemplateView {
  const { id, type, occurredAt, systemIds, payload } = ctx.event;
  return {
    event: { id, type, occurredAt, systemIds: [...systemIds] },
    payload,
    deliveryId: ctx.deliveryId,
    subscription: { id: ctx.subscription.id, name: ctx.subscription.name },
  };
}

/** A stand-in view built from the event type's example, for save-time checks. */
export function exampleView(eventType: EventTypeInfo): TemplateView {
  return {
    event: { id: 'evt_example', type: eventType.id, occurredAt: '2025-01-01T00:00:00.000Z', systemIds: ['system-example'] },
    payload: eventType.example ?? {},
    deliveryId: 'dlv_example',
    subscription: { id: 'sub_example', name: 'Example subscription' },
  };
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

// Never HTML: each value is encoded for the place it lands in, so a payload value cannot change the request's shape.
const ESCAPERS: Record<TemplateTarget, (value: unknown) => string> = {
  url: (value) => encodeURIComponent(asText(value)),
  form: (value) => encodeURIComponent(asText(value)),
  // Control characters (CR/LF above all) would split or smuggle headers.
  header: (value) => asText(value).replace(/[\u0000-\u001f\u007f]+/g, ' '),
  // The inside of a JSON string literal, without the quotes.
  json: (value) => JSON.stringify(asText(value)).slice(1, -1),
};

/** A writer whose `{{{x}}}` / `{{&x}}` go through `raw` instead of being written verbatim. */
class TargetWriter extends Mustache.Writer {
  constructor(private readonly raw: (value: unknown) => string) {
    super();
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.raw(context.lookup(token[1]));
  }
}

function rendered(render: () => string): string {
  try {
    return render();
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
    throw new TemplateError(`template could not be rendered: ${reason}`);
  }
}

/** Renders a url, header value or form body template; `{{x}}` and `{{{x}}}` both encode x for `target`. */
export function renderTemplate(template: string, view: TemplateView, target: Exclude<TemplateTarget, 'json'>): string {
  const escape = ESCAPERS[target];
  const writer = new TargetWriter((value) => (value == null ? '' : escape(value)));
  return rendered(() => writer.render(template, view, undefined, { escape }));
}

/** The error for a JSON body template that rendered to invalid JSON: says how to quote, never what the values were. */
const INVALID_JSON_BODY =
  'bodyTemplate did not render to valid JSON: write text values inside quotes ("{{payload.title}}") ' +
  'and whole JSON values bare with triple braces ({{{payload}}})';

/**
 * Renders a JSON body template. `{{x}}` writes x escaped for the inside of a JSON string; `{{{x}}}` writes x as one
 * complete JSON value (object, array, string, number, null when missing) and must stand where a value goes.
 * Throws TemplateError when the result is not valid JSON, so a payload value can never add or break structure.
 */
export function renderJsonTemplate(template: string, view: TemplateView): string {
  // {{{x}}} first renders as a quoted marker string nobody can forge (random nonce, NUL byte); after
  // JSON.parse proves every marker stood alone as a value, the real values are swapped in.
  const nonce = `\u0000${randomBytes(12).toString('hex')}:`;
  const embedded = new Map<string, unknown>();
  const writer = new TargetWriter((value) => {
    const marker = nonce + embedded.size;
    embedded.set(marker, value);
    return JSON.stringify(marker);
  });
  const text = rendered(() => writer.render(template, view, undefined, { escape: ESCAPERS.json }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TemplateError(INVALID_JSON_BODY);
  }
  return embedded.size === 0 ? text : JSON.stringify(substituteMarkers(parsed, embedded));
}

function substituteMarkers(node: unknown, embedded: Map<string, unknown>): unknown {
  if (typeof node === 'string') return embedded.has(node) ? (embedded.get(node) ?? null) : node;
  if (Array.isArray(node)) return node.map((item) => substituteMarkers(item, embedded));
  if (node === null || typeof node !== 'object') return node;
  // A null prototype keeps a "__proto__" key an ordinary key.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(node)) {
    if (embedded.has(key)) throw new TemplateError('{{{...}}} cannot be a JSON object key; write "{{...}}" in quotes');
    out[key] = substituteMarkers(value, embedded);
  }
  return out;
}

/** A config field holding a mustache template of at most `max` characters, refused at save time when it does not parse. */
export function templateField(max: number) {
  return z.string().min(1).max(max).superRefine((value, ctx) => {
    const error = templateSyntaxError(value);
    if (error) ctx.addIssue({ code: 'custom', message: `not a valid template: ${error}` });
  });
}

/** The syntax error of `template`, or undefined when it parses. */
function templateSyntaxError(template: string): string | undefined {
  try {
    parseTemplate(template);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : 'unparseable template';
  }
}

// A private writer keeps parsed templates out of mustache's global, unbounded cache.
function parseTemplate(template: string): Mustache.TemplateSpans {
  return new Mustache.Writer().parse(template);
}

interface TagRef {
  name: string;
  kind: string;
  /** Inside a `{{#section}}`, where names may be relative to the section's item. */
  inSection: boolean;
}

function collectTags(spans: Mustache.TemplateSpans, inSection: boolean, out: TagRef[]): TagRef[] {
  for (const span of spans) {
    const [kind, name] = span;
    if (['name', '&', '#', '^', '>'].includes(kind)) out.push({ name, kind, inSection });
    // An inverted section pushes no context, so names inside it still resolve from where they were.
    if ((kind === '#' || kind === '^') && Array.isArray(span[4])) collectTags(span[4], inSection || kind === '#', out);
  }
  return out;
}

const STRING = { type: 'string' };
const FIXED_VIEW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event: {
      type: 'object',
      additionalProperties: false,
      properties: { id: STRING, type: STRING, occurredAt: STRING, systemIds: { type: 'array', items: STRING } },
    },
    payload: true,
    deliveryId: STRING,
    subscription: { type: 'object', additionalProperties: false, properties: { id: STRING, name: STRING } },
  },
};
const ROOTS = Object.keys(FIXED_VIEW_SCHEMA.properties);

/**
 * Save-time check of one template field: syntax, unknown roots, and paths the view can never hold
 * (`payload.*` against the event type's payloadSchema; no schema means anything goes). Problems carry `fieldPath`.
 */
export function checkTemplatePaths(template: string, eventType: EventTypeInfo, fieldPath: string): FieldProblem[] {
  let tags: TagRef[];
  try {
    tags = collectTags(parseTemplate(template), false, []);
  } catch (err) {
    return [{ path: fieldPath, message: `not a valid template: ${err instanceof Error ? err.message : 'parse error'}` }];
  }
  const messages = new Set<string>();
  for (const tag of tags) {
    if (tag.name === '.') continue;
    const segments = tag.name.split('.');
    if (tag.kind === '>') {
      messages.add(`partials ({{> ${tag.name}}}) are not supported`);
    } else if (!ROOTS.includes(segments[0])) {
      // Inside a section an unknown name may be a field of the current item: not ours to judge.
      const suggestion = closest(segments[0], ROOTS);
      const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
      if (!tag.inSection) messages.add(`{{${tag.name}}} is unknown: templates read ${ROOTS.join(', ')}${hint}`);
    } else {
      const miss = missingIn(segments, eventType.payloadSchema);
      if (miss) messages.add(describeMiss(tag.name, segments, miss, eventType.id));
    }
  }
  return [...messages].map((message) => ({ path: fieldPath, message }));
}

function missingIn(segments: string[], payloadSchema: Record<string, unknown> | undefined): MissingPath | undefined {
  if (segments[0] !== 'payload') return findMissingPath(FIXED_VIEW_SCHEMA, segments);
  // The payload schema is walked on its own, so its local $refs resolve against its own root.
  const miss = payloadSchema ? findMissingPath(payloadSchema, segments.slice(1)) : undefined;
  return miss && { ...miss, index: miss.index + 1 };
}

function describeMiss(name: string, segments: string[], miss: MissingPath, eventTypeId: string): string {
  const parent = segments.slice(0, miss.index).join('.');
  const field = segments[miss.index];
  const subject = parent === 'payload' ? `the payload of ${eventTypeId}` : parent;
  if (miss.reason === 'not-an-object') return `{{${name}}} can never have a value: ${subject} is not an object, so it has no "${field}"`;
  const suggestion = closest(field, miss.known);
  const hint = suggestion ? `; did you mean "${suggestion}"?` : miss.known.length ? `; it has ${miss.known.slice(0, 12).join(', ')}` : '';
  return `{{${name}}} can never have a value: ${subject} has no field "${field}"${hint}`;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3; // more than two edits away is no longer a typo
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
