import { useQuery } from '@tanstack/react-query';
import { createContext, useContext, useState } from 'react';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';

/**
 * What fields backed by a connection (`x-options-resolver` in the schema) need to offer a picker: the chosen
 * connection, the whole config (for `x-depends-on`: Jira issue types of the chosen project) and whether this
 * user may read connection options at all (managers and admins).
 */
export const PickerContext = createContext<{ connectionId?: string; root?: Record<string, unknown>; enabled: boolean; connectionsPage?: boolean }>({ enabled: false });

/** A JSON Schema node as providers publish them (draft 2020-12 from zod). */
export type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  description?: string;
  title?: string;
  default?: unknown;
  format?: string;
  writeOnly?: boolean;
  'x-secret'?: boolean;
  [k: string]: unknown;
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isMask = (v: unknown) => isObj(v) && v.set === true && Object.keys(v).length === 1;
const typeOf = (s: Schema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const domId = (path: string) => `f-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
const SCALAR = new Set(['string', 'integer', 'number']);

/** Words for a field name when its schema has no title: `timeoutMs` -> "Timeout (ms)", `chatId` -> "Chat ID". */
export function humanLabel(name: string): string {
  const units: [RegExp, string][] = [[/Ms$/, ' (ms)'], [/Mb$/, ' (MiB)'], [/Bytes$/, ' (bytes)']];
  let base = name;
  let unit = '';
  for (const [re, text] of units) if (re.test(base) && base.replace(re, '')) { base = base.replace(re, ''); unit = text; break; }
  const words = base.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[\s_]+/).filter(Boolean)
    .map((w, i) => (/^(id|url|api|ip|http|html|cc|mb)$/i.test(w) ? w.toUpperCase() : i === 0 ? w[0].toUpperCase() + w.slice(1) : w.toLowerCase()));
  return words.join(' ') + unit;
}
const label = (name: string, s: Schema) => s.title ?? humanLabel(name);

/**
 * zod's `.nullable()`/`.nullish()` publish `anyOf: [X, {type: "null"}]`: the form shows X (and remembers that
 * null is allowed, to offer "Remove" on a stored secret). One branch left is merged into its parent.
 */
function simplify(s: Schema): Schema {
  const branches = s.anyOf ?? s.oneOf;
  if (!branches) return s;
  const rest = branches.filter((b) => !(b.type === 'null' && !b.properties));
  if (rest.length === branches.length) return s;
  const { anyOf: _a, oneOf: _o, ...outer } = s;
  if (rest.length === 1) return simplify({ ...rest[0], ...outer, 'x-nullable': true });
  return { ...outer, anyOf: rest, 'x-nullable': true };
}
const branchesOf = (s: Schema) => s.anyOf ?? s.oneOf;
const isSecret = (s: Schema) => s['x-secret'] === true || Boolean(branchesOf(s)?.some((b) => b['x-secret'] === true));
/** The property every object branch fixes with a `const` (Jira `flavor`, Teams `mode`, webhook `auth.type`). */
function variantKey(branches: Schema[]): string | undefined {
  if (!branches.every((b) => isObj(b.properties))) return undefined;
  return Object.keys(branches[0].properties ?? {}).find((k) => branches.every((b) => b.properties?.[k]?.const !== undefined));
}
/** The branch shown before anyone picks one: the schema's default, else the first when a value is required. */
function defaultTag(s: Schema, branches: Schema[], key: string, required: boolean): unknown {
  if (isObj(s.default) && s.default[key] !== undefined) return s.default[key];
  return required ? branches[0].properties![key].const : undefined;
}

/** What a JSON field holds while its text does not parse: submitting is refused, naming the field. */
export class InvalidJson {
  constructor(readonly text: string, readonly reason: string) {}
}

/**
 * The value to send: the variant picked by default (shown selected) is written into the value, as the user
 * saw it. Without this a form showing "Flavor: cloud" would send no flavor at all.
 */
export function withVariantDefaults(schema: Schema, value: unknown, required = true): unknown {
  const s = simplify(schema);
  const branches = branchesOf(s);
  const key = branches && variantKey(branches);
  if (branches && key) {
    if (!isObj(value) && !required) return value;
    const obj = isObj(value) ? value : {};
    const tag = obj[key] ?? defaultTag(s, branches, key, true);
    const branch = branches.find((b) => b.properties![key].const === tag);
    const out = { ...obj, [key]: tag };
    return branch ? fillObject(branch, out) : out;
  }
  if (typeOf(s) === 'object' && s.properties && isObj(value)) return fillObject(s, value);
  return value;
}
function fillObject(s: Schema, obj: Obj): Obj {
  const required = new Set(s.required ?? []);
  const out = { ...obj };
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const v = withVariantDefaults(sub, obj[k], required.has(k));
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Fields the browser already knows are wrong (JSON that does not parse), by the path the API would name. */
export function invalidFields(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, at: string) => {
    if (v instanceof InvalidJson) out[at] = `is not valid JSON (${v.reason}): fix it or empty the field`;
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}.${i}`));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(value, path);
  return out;
}

interface FieldProps {
  name: string;
  schema: Schema;
  value: unknown;
  onChange: (v: unknown) => void;
  /** Dot path of this field as the API names it in problem+json, e.g. `config.auth.token`. */
  path: string;
  errors: Record<string, string>;
  required: boolean;
  readOnly: boolean;
}

/**
 * A form for any provider's configSchema/connectionSchema, so a plugin provider gets a form with no UI code.
 * The API validates (one source of truth) and its field errors show under the field they name; the form only
 * refuses what it can tell locally (JSON that does not parse: invalidFields). Secret fields (`x-secret`, also
 * inside anyOf, arrays and maps) are write-only: a stored one shows "set" with a Replace button. A field any of
 * whose shapes is a string is a text field. Call withVariantDefaults on the value before sending it.
 */
export function SchemaForm({ schema, value, onChange, path, errors, readOnly = false }: {
  schema: Schema; value: unknown; onChange: (v: Obj) => void; path: string; errors: Record<string, string>; readOnly?: boolean;
}) {
  const s = simplify(schema);
  const branches = branchesOf(s);
  if (branches?.length && variantKey(branches)) {
    // a whole config that comes in kinds (e.g. Jira cloud / data center): pick the kind, then its fields
    return <Variants name="" schema={s} branches={branches} value={value} onChange={(v) => onChange(isObj(v) ? v : {})} path={path} errors={errors} required readOnly={readOnly} />;
  }
  return <ObjectFields schema={s} value={isObj(value) ? value : {}} onChange={onChange} path={path} errors={errors} readOnly={readOnly} />;
}

function ObjectFields({ schema, value, onChange, path, errors, readOnly }: { schema: Schema; value: Obj; onChange: (v: Obj) => void; path: string; errors: Record<string, string>; readOnly: boolean }) {
  const required = new Set(schema.required ?? []);
  return (
    <div className="schema-fields">
      {Object.entries(schema.properties ?? {}).map(([name, s]) => (
        <Field
          key={name}
          name={name}
          schema={s}
          value={value[name]}
          path={`${path}.${name}`}
          errors={errors}
          required={required.has(name)}
          readOnly={readOnly}
          onChange={(v) => {
            const next = { ...value };
            if (v === undefined) delete next[name];
            else next[name] = v;
            onChange(next);
          }}
        />
      ))}
    </div>
  );
}

function Field(raw: FieldProps) {
  const p = { ...raw, schema: simplify(raw.schema) };
  const { schema: s, name, path, errors } = p;
  const id = domId(path);
  const error = errors[path];
  const branches = branchesOf(s);
  const itemSchema = s.items ? simplify(s.items) : undefined;
  const mapValues = isObj(s.additionalProperties) ? simplify(s.additionalProperties) : undefined;
  let control;
  if (s['x-widget'] === 'signing') return <SigningField {...p} id={id} />;
  if (isSecret(s)) control = <SecretInput {...p} id={id} />;
  else if (branches && variantKey(branches)) return <Variants {...p} branches={branches} />;
  else if (s.enum || (branches?.length && branches.every((b) => b.const !== undefined))) {
    const options = s.enum ?? branches!.map((b) => b.const);
    control = (
      <select id={id} value={String(p.value ?? s.default ?? '')} disabled={p.readOnly} aria-invalid={Boolean(error)} onChange={(e) => p.onChange(e.target.value || undefined)}>
        {!p.required && s.default === undefined && <option value="">—</option>}
        {options.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (typeof s['x-options-resolver'] === 'string' && (typeOf(s) === 'string' || branches?.some((b) => typeOf(b) === 'string'))) {
    // backed by the connection: a picker fed by GET /connections/{id}/options/{resolver}, typing still possible
    control = <PickerInput {...p} id={id} resolver={s['x-options-resolver'] as string} />;
  } else if (branches?.length && branches.every((b) => SCALAR.has(typeOf(b) ?? '') && !b.properties) && branches.some((b) => typeOf(b) === 'string')) {
    // e.g. Telegram chatId: an integer or "@channel"; the API accepts the text and tells which shape is wrong
    control = <TextInput {...p} id={id} />;
  } else if (typeOf(s) === 'object' && s.properties) {
    return (
      <fieldset className="nested">
        <legend>{label(name, s)}</legend>
        {s.description && <p className="hint">{s.description}</p>}
        <ObjectFields schema={s} value={isObj(p.value) ? p.value : {}} onChange={p.onChange} path={path} errors={errors} readOnly={p.readOnly} />
        {error && <p className="field-error" role="alert" id={`${id}-error`}>{error}</p>}
      </fieldset>
    );
  } else if (typeOf(s) === 'object' && mapValues && isSecret(mapValues)) {
    return <SecretMap {...p} id={id} />;
  } else if (typeOf(s) === 'boolean') {
    return (
      <div className="field checkbox">
        <label>
          <input type="checkbox" id={id} checked={Boolean(p.value ?? s.default)} disabled={p.readOnly} onChange={(e) => p.onChange(e.target.checked)} /> {label(name, s)}
        </label>
        {s.description && <p className="hint">{s.description}</p>}
        {error && <p className="field-error" role="alert" id={`${id}-error`}>{error}</p>}
      </div>
    );
  } else if (typeOf(s) === 'integer' || typeOf(s) === 'number') {
    control = (
      <input id={id} type="number" value={p.value === undefined ? '' : String(p.value)} placeholder={s.default !== undefined ? String(s.default) : undefined}
        readOnly={p.readOnly} aria-invalid={Boolean(error)} onChange={(e) => p.onChange(e.target.value === '' ? undefined : Number(e.target.value))} />
    );
  } else if (typeOf(s) === 'array' && itemSchema && isSecret(itemSchema)) {
    return <SecretList {...p} id={id} />;
  } else if (typeOf(s) === 'array' && itemSchema && typeOf(itemSchema) === 'string' && !itemSchema.enum) {
    control = (
      <textarea id={id} rows={3} value={Array.isArray(p.value) ? p.value.join('\n') : ''} readOnly={p.readOnly} aria-invalid={Boolean(error)}
        placeholder="one per line" onChange={(e) => { const xs = e.target.value.split('\n').map((x) => x.trim()).filter(Boolean); p.onChange(xs.length ? xs : undefined); }} />
    );
  } else if (typeOf(s) === 'string') {
    control = <TextInput {...p} id={id} />;
  } else {
    const example = typeOf(s) === 'object' ? '{"Name": "value"}' : typeOf(s) === 'array' ? '[ ... ]' : undefined;
    control = <JsonInput id={id} value={p.value} onChange={p.onChange} readOnly={p.readOnly} invalid={Boolean(error)} placeholder={example && `JSON, e.g. ${example}`} />;
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        {label(name, s)}
        {p.required && <span aria-hidden="true"> *</span>}
      </label>
      {control}
      {s.description && <p className="hint">{s.description}</p>}
      {error && <p className="field-error" role="alert" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

/** A string (or a union with a string): a text field, or a text area for templates and long text. */
function TextInput(p: FieldProps & { id: string }) {
  const s = p.schema;
  const invalid = Boolean(p.errors[p.path]);
  const text = p.value === undefined || p.value === null ? '' : String(p.value);
  const long = /template|body|script|source|text|message|command|certificate/i.test(p.name) || (typeof s.maxLength === 'number' && s.maxLength > 4096);
  const change = (v: string) => p.onChange(v === '' ? undefined : v);
  return long ? (
    <textarea id={p.id} rows={5} value={text} readOnly={p.readOnly} aria-invalid={invalid} onChange={(e) => change(e.target.value)} />
  ) : (
    <input id={p.id} type="text" inputMode={s.format === 'uri' || /url$/i.test(p.name) ? 'url' : undefined} value={text} readOnly={p.readOnly} aria-invalid={invalid}
      placeholder={s.default !== undefined ? String(s.default) : undefined} onChange={(e) => change(e.target.value)} />
  );
}

/**
 * A text field with the connection's choices beside it (Jira projects, issue types, priorities; Webex rooms; Teams
 * teams and channels; Telegram recent chats): picking one fills the field, which stays editable (an id the list
 * does not hold can still be typed). Fields named in `x-depends-on` are sent as the query (`projectKey`).
 */
function PickerInput(p: FieldProps & { id: string; resolver: string }) {
  const ctx = useContext(PickerContext);
  const dependsOn = Array.isArray(p.schema['x-depends-on']) ? (p.schema['x-depends-on'] as string[]) : [];
  const query = Object.fromEntries(dependsOn.map((k) => [k, ctx.root?.[k] === undefined || ctx.root?.[k] === null ? '' : String(ctx.root[k])]));
  const missing = dependsOn.filter((k) => !query[k]);
  const ready = ctx.enabled && !p.readOnly && Boolean(ctx.connectionId) && missing.length === 0;
  const q = useQuery({
    queryKey: ['options', ctx.connectionId, p.resolver, query],
    enabled: ready,
    retry: false,
    staleTime: 60_000,
    queryFn: async () =>
      unwrap(await api.GET('/connections/{id}/options/{resolver}', { params: { path: { id: ctx.connectionId!, resolver: p.resolver }, query: query as never } })),
  });
  const name = label(p.name, p.schema);
  const text = p.value === undefined || p.value === null ? '' : String(p.value);
  const options = q.data ?? [];
  let hint: string | undefined;
  if (p.readOnly || !ctx.enabled) hint = undefined;
  else if (!ctx.connectionId) hint = `Choose a connection above to pick the ${name.toLowerCase()} from its list, or type it.`;
  else if (missing.length) hint = `Pick ${missing.map((k) => humanLabel(k)).join(' and ')} first to see the choices, or type it.`;
  else if (q.error) hint = `Could not load the choices (${messageOf(q.error)}): type the value.`;
  else if (q.isSuccess && options.length === 0) hint = 'The connection offers no choices here: type the value.';
  return (
    <>
      <div className="picker">
        <TextInput {...p} />
        {ready && (
          <select aria-label={`Pick ${name}`} value={options.some((o) => o.value === text) ? text : ''} disabled={q.isPending || options.length === 0}
            data-testid={`picker-${p.path}`} onChange={(e) => e.target.value && p.onChange(e.target.value)}>
            <option value="">{q.isPending ? 'loading…' : `pick from ${options.length}…`}</option>
            {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
          </select>
        )}
      </div>
      {hint && <p className="hint" data-testid={`picker-hint-${p.path}`}>{hint}</p>}
    </>
  );
}

/** A fresh Standard Webhooks secret, made in the browser: `whsec_` and the base64 of 24 random bytes. */
function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const OVERLAPS = [['1', '1 hour'], ['24', '24 hours'], ['72', '3 days'], ['168', '7 days']] as const;

/**
 * Webhook signing (`x-widget: signing`): generate a secret (shown once, with Copy), rotate (the new one is added
 * and old and new both sign until `overlapUntil`, after which only the newest does), or stop signing. Stored
 * secrets are never shown: they come back as {"set": true} and are sent back as such, so they are kept.
 */
function SigningField(p: FieldProps & { id: string }) {
  const value = isObj(p.value) ? p.value : undefined;
  const secrets = Array.isArray(value?.secrets) ? (value!.secrets as unknown[]) : [];
  const [fresh, setFresh] = useState<string>();
  const [overlap, setOverlap] = useState('24');
  const [copy, setCopy] = useState<'copied' | 'failed'>();
  const until = typeof value?.overlapUntil === 'string' ? value.overlapUntil : undefined;
  const overlapping = until !== undefined && Date.parse(until) > Date.now();
  const add = (next: unknown[], overlapUntil?: string) => {
    const secret = newSigningSecret();
    setFresh(secret);
    setCopy(undefined);
    p.onChange({ secrets: [...next, secret], ...(overlapUntil ? { overlapUntil } : {}) });
  };
  const error = Object.entries(p.errors).find(([k]) => k === p.path || k.startsWith(`${p.path}.`));
  return (
    <fieldset className="nested" id={p.id} data-testid="signing">
      <legend>Signing</legend>
      <p className="hint">Standard Webhooks signatures (<code>webhook-signature</code>, HMAC-SHA256) let the receiver check that a request comes from the hub.</p>
      {secrets.length === 0 ? (
        <p data-testid="signing-state">Requests are not signed.</p>
      ) : (
        <p data-testid="signing-state">
          {secrets.length === 1 ? 'One signing secret' : `${secrets.length} signing secrets`}
          {secrets.some(isMask) ? ' stored' : ''}.{' '}
          {secrets.length > 1 && until
            ? overlapping
              ? `During the rotation every one of them signs, until ${new Date(until).toLocaleString()}; then only the newest.`
              : `Since ${new Date(until).toLocaleString()} only the newest signs.`
            : secrets.length > 1 ? 'Every one of them signs.' : ''}
        </p>
      )}
      {fresh && secrets.includes(fresh) && (
        <div className="once" role="status">
          <p><strong>New signing secret: copy it now.</strong> It is shown only this once; once saved it is stored encrypted and never shown again.</p>
          <p><code data-testid="new-signing-secret">{fresh}</code></p>
          <button type="button" onClick={() => navigator.clipboard.writeText(fresh).then(() => setCopy('copied'), () => setCopy('failed'))}>Copy</button>{' '}
          {copy === 'copied' && <span className="ok" data-testid="copied">Copied.</span>}
          {copy === 'failed' && <span className="field-error">The browser refused the clipboard: select the secret and copy it by hand.</span>}
          <p className="hint">Save the subscription for it to take effect.</p>
        </div>
      )}
      {!p.readOnly && (
        <div className="actions">
          {secrets.length === 0 ? (
            <button type="button" onClick={() => add([])}>Generate a signing secret</button>
          ) : (
            <>
              <label className="switch">
                Old and new both sign for
                <select aria-label="Rotation overlap" value={overlap} onChange={(e) => setOverlap(e.target.value)}>
                  {OVERLAPS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
                </select>
              </label>
              <button type="button" disabled={secrets.length >= 5 || Boolean(fresh && secrets.includes(fresh))}
                onClick={() => add(secrets, new Date(Date.now() + Number(overlap) * 3_600_000).toISOString())}>
                Rotate
              </button>
              <button type="button" className="danger" onClick={() => { setFresh(undefined); p.onChange(undefined); }}>Stop signing</button>
            </>
          )}
        </div>
      )}
      {secrets.length >= 5 && <p className="hint">Five secrets at most: stop signing and generate a new one to start over.</p>}
      {error && <p className="field-error" role="alert" id={`${p.id}-error`}>{error[1]}</p>}
    </fieldset>
  );
}

/** anyOf/oneOf of objects told apart by a `const` property (e.g. auth.type): a picker, then that branch's fields. */
function Variants(p: FieldProps & { branches: Schema[] }) {
  const key = variantKey(p.branches);
  if (!key) return <Field {...p} schema={{ ...p.schema, anyOf: undefined, oneOf: undefined, type: 'json' }} />;
  const stored = isObj(p.value) ? p.value : undefined;
  // the branch shown selected is the one the value gets (withVariantDefaults writes it before sending)
  const tag = stored?.[key] ?? defaultTag(p.schema, p.branches, key, p.required);
  const current = tag === undefined ? stored : { ...(stored ?? (isObj(p.schema.default) ? p.schema.default : {})), [key]: tag };
  const chosen = p.branches.find((b) => b.properties![key].const === tag);
  const keyPath = `${p.path}.${key}`;
  const id = domId(keyPath);
  const keyError = p.errors[keyPath];
  return (
    <fieldset className={p.name ? 'nested' : 'plain-fieldset'}>
      {p.name ? <legend>{label(p.name, p.schema)}</legend> : <legend className="sr-only">Settings</legend>}
      {p.schema.description && <p className="hint">{p.schema.description}</p>}
      <div className="field">
        <label htmlFor={id}>{label(key, {})}</label>
        <select id={id} value={String(tag ?? '')} disabled={p.readOnly} aria-invalid={Boolean(keyError)}
          onChange={(e) => {
            // fields both kinds have (Jira's baseUrl) keep what was typed; the others go
            const next = p.branches.find((b) => String(b.properties![key].const) === e.target.value);
            const kept = Object.entries(current ?? {}).filter(([k]) => k !== key && next?.properties?.[k] && !isSecret(next.properties[k]));
            p.onChange(next ? { ...Object.fromEntries(kept), [key]: next.properties![key].const } : undefined);
          }}>
          {tag === undefined && <option value="">—</option>}
          {p.branches.map((b) => (
            <option key={String(b.properties![key].const)} value={String(b.properties![key].const)}>
              {String(b.properties![key].const)}
            </option>
          ))}
        </select>
        {chosen?.properties?.[key]?.description && <p className="hint">{chosen.properties[key].description}</p>}
        {keyError && <p className="field-error" role="alert" id={`${id}-error`}>{keyError}</p>}
      </div>
      {chosen && (
        <ObjectFields
          schema={{ ...chosen, properties: Object.fromEntries(Object.entries(chosen.properties!).filter(([k]) => k !== key)) }}
          value={current ?? {}}
          onChange={(v) => p.onChange({ ...v, [key]: tag })}
          path={p.path}
          errors={p.errors}
          readOnly={p.readOnly}
        />
      )}
      {p.errors[p.path] && <p className="field-error" role="alert" id={`${domId(p.path)}-error`}>{p.errors[p.path]}</p>}
    </fieldset>
  );
}

/** Write-only: never shows a stored value; "set" plus Replace (and Remove when null is allowed), or an empty password field. */
function SecretInput(p: FieldProps & { id: string }) {
  const [replacing, setReplacing] = useState(false);
  if (isMask(p.value) && !replacing) {
    return (
      <div className="secret-set">
        <span className="badge" data-testid="secret-set">set</span>
        {!p.readOnly && (
          <button type="button" id={p.id} aria-label={`Replace the stored ${label(p.name, p.schema)}`} onClick={() => { setReplacing(true); p.onChange(undefined); }}>
            Replace
          </button>
        )}
        {!p.readOnly && p.schema['x-nullable'] === true && (
          <button type="button" className="danger" onClick={() => p.onChange(null)}>Remove</button>
        )}
      </div>
    );
  }
  return (
    <input id={p.id} type="password" autoComplete="new-password" spellCheck={false} value={typeof p.value === 'string' ? p.value : ''} readOnly={p.readOnly}
      aria-invalid={Boolean(p.errors[p.path])} placeholder={replacing ? 'new value (leave empty to keep the stored one)' : p.value === null ? 'removed on save' : ''}
      onChange={(e) => p.onChange(e.target.value === '' ? (replacing ? { set: true } : undefined) : e.target.value)} />
  );
}

/** An array of secrets (e.g. webhook signing secrets): one write-only field each, added and removed by button. */
function SecretList(p: FieldProps & { id: string }) {
  const items = Array.isArray(p.value) ? p.value : [];
  const set = (next: unknown[]) => p.onChange(next.length ? next : undefined);
  const itemSchema = simplify(p.schema.items ?? {});
  return (
    <fieldset className="nested" id={p.id}>
      <legend>{label(p.name, p.schema)}{p.required && <span aria-hidden="true"> *</span>}</legend>
      {p.schema.description && <p className="hint">{p.schema.description}</p>}
      {items.map((v, i) => (
        <div className="field secret-row" key={i}>
          <label htmlFor={domId(`${p.path}.${i}`)}>#{i + 1}</label>
          <div className="secret-set">
            <SecretInput name={`${p.name} #${i + 1}`} schema={itemSchema} value={v} path={`${p.path}.${i}`} errors={p.errors} required readOnly={p.readOnly}
              id={domId(`${p.path}.${i}`)} onChange={(x) => set(items.map((y, j) => (j === i ? (x ?? '') : y)))} />
            {!p.readOnly && <button type="button" onClick={() => set(items.filter((_, j) => j !== i))} aria-label={`Remove #${i + 1}`}>Remove</button>}
          </div>
          {p.errors[`${p.path}.${i}`] && <p className="field-error" role="alert">{p.errors[`${p.path}.${i}`]}</p>}
        </div>
      ))}
      {!p.readOnly && <button type="button" onClick={() => set([...items, ''])}>Add</button>}
      {p.errors[p.path] && <p className="field-error" role="alert" id={`${p.id}-error`}>{p.errors[p.path]}</p>}
    </fieldset>
  );
}

/** A map of secrets (script secrets, shell env): a name field and a write-only value per entry. */
function SecretMap(p: FieldProps & { id: string }) {
  const entries = Object.entries(isObj(p.value) ? p.value : {});
  const valueSchema = simplify(isObj(p.schema.additionalProperties) ? p.schema.additionalProperties : {});
  const set = (next: [string, unknown][]) => p.onChange(next.length ? Object.fromEntries(next) : undefined);
  const [newName, setNewName] = useState('');
  return (
    <fieldset className="nested" id={p.id}>
      <legend>{label(p.name, p.schema)}</legend>
      {p.schema.description && <p className="hint">{p.schema.description}</p>}
      {entries.map(([k, v]) => (
        <div className="field" key={k}>
          <label htmlFor={domId(`${p.path}.${k}`)}><code>{k}</code></label>
          <div className="secret-set">
            <SecretInput name={k} schema={valueSchema} value={v} path={`${p.path}.${k}`} errors={p.errors} required readOnly={p.readOnly}
              id={domId(`${p.path}.${k}`)} onChange={(x) => set(entries.map(([a, b]) => [a, a === k ? (x ?? '') : b]))} />
            {!p.readOnly && <button type="button" onClick={() => set(entries.filter(([a]) => a !== k))} aria-label={`Remove ${k}`}>Remove</button>}
          </div>
          {p.errors[`${p.path}.${k}`] && <p className="field-error" role="alert">{p.errors[`${p.path}.${k}`]}</p>}
        </div>
      ))}
      {!p.readOnly && (
        <div className="secret-set">
          <input aria-label={`New ${label(p.name, p.schema)} name`} placeholder="NAME" value={newName} onChange={(e) => setNewName(e.target.value.trim())} />
          <button type="button" disabled={!newName || entries.some(([k]) => k === newName)} onClick={() => { set([...entries, [newName, '']]); setNewName(''); }}>Add</button>
        </div>
      )}
      {p.errors[p.path] && <p className="field-error" role="alert" id={`${p.id}-error`}>{p.errors[p.path]}</p>}
    </fieldset>
  );
}

/** Anything the form has no widget for: JSON text, parsed when valid; while it does not parse the value is an InvalidJson. */
function JsonInput({ id, value, onChange, readOnly, invalid, placeholder }: { id: string; value: unknown; onChange: (v: unknown) => void; readOnly: boolean; invalid: boolean; placeholder?: string }) {
  const [text, setText] = useState(value instanceof InvalidJson ? value.text : value === undefined ? '' : JSON.stringify(value, null, 2));
  const bad = value instanceof InvalidJson;
  return (
    <>
      <textarea id={id} rows={4} className="mono" value={text} readOnly={readOnly} aria-invalid={invalid || bad} spellCheck={false} placeholder={placeholder}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') { onChange(undefined); return; }
          try { onChange(JSON.parse(e.target.value)); } catch (err) { onChange(new InvalidJson(e.target.value, err instanceof Error ? err.message : 'does not parse')); }
        }} />
      {bad && !invalid && <p className="field-error">not valid JSON yet</p>}
    </>
  );
}
