import { useState } from 'react';

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
const label = (name: string, s: Schema) => s.title ?? name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
const typeOf = (s: Schema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const domId = (path: string) => `f-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

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
 * It does not validate: the API does (one source of truth), and its field errors show under the field they
 * name. Secret fields (`x-secret`) are write-only: a stored one shows "set" with a Replace button.
 */
export function SchemaForm({ schema, value, onChange, path, errors, readOnly = false }: {
  schema: Schema; value: unknown; onChange: (v: Obj) => void; path: string; errors: Record<string, string>; readOnly?: boolean;
}) {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches?.length && branches.every((b) => isObj(b.properties))) {
    // a whole config that comes in kinds (e.g. Jira cloud / data center): pick the kind, then its fields
    return <Variants name="" schema={schema} branches={branches} value={value} onChange={(v) => onChange(isObj(v) ? v : {})} path={path} errors={errors} required readOnly={readOnly} />;
  }
  return <ObjectFields schema={schema} value={isObj(value) ? value : {}} onChange={onChange} path={path} errors={errors} readOnly={readOnly} />;
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

function Field(p: FieldProps) {
  const { schema: s, name, path, errors } = p;
  const id = domId(path);
  const error = errors[path];
  const branches = s.anyOf ?? s.oneOf;
  let control;
  if (s['x-secret']) control = <SecretInput {...p} id={id} />;
  else if (branches && branches.every((b) => isObj(b.properties))) return <Variants {...p} branches={branches} />;
  else if (s.enum || branches?.every((b) => b.const !== undefined)) {
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
  } else if (typeOf(s) === 'object' && s.properties) {
    return (
      <fieldset className="nested">
        <legend>{label(name, s)}</legend>
        {s.description && <p className="hint">{s.description}</p>}
        <ObjectFields schema={s} value={isObj(p.value) ? p.value : {}} onChange={p.onChange} path={path} errors={errors} readOnly={p.readOnly} />
        {error && <p className="field-error" role="alert">{error}</p>}
      </fieldset>
    );
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
  } else if (typeOf(s) === 'array' && s.items && typeOf(s.items) === 'string' && !s.items.enum) {
    control = (
      <textarea id={id} rows={3} value={Array.isArray(p.value) ? p.value.join('\n') : ''} readOnly={p.readOnly} aria-invalid={Boolean(error)}
        placeholder="one per line" onChange={(e) => { const xs = e.target.value.split('\n').map((x) => x.trim()).filter(Boolean); p.onChange(xs.length ? xs : undefined); }} />
    );
  } else if (typeOf(s) === 'string') {
    const long = /template|body|script|source|text|message/i.test(name) || (typeof s.maxLength === 'number' && s.maxLength > 4096);
    control = long ? (
      <textarea id={id} rows={5} value={String(p.value ?? '')} readOnly={p.readOnly} aria-invalid={Boolean(error)} onChange={(e) => p.onChange(e.target.value === '' ? undefined : e.target.value)} />
    ) : (
      <input id={id} type={s.format === 'uri' || name === 'url' ? 'url' : 'text'} value={String(p.value ?? '')} readOnly={p.readOnly} aria-invalid={Boolean(error)}
        placeholder={s.default !== undefined ? String(s.default) : undefined} onChange={(e) => p.onChange(e.target.value === '' ? undefined : e.target.value)} />
    );
  } else {
    control = <JsonInput id={id} value={p.value} onChange={p.onChange} readOnly={p.readOnly} invalid={Boolean(error)} />;
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

/** anyOf/oneOf of objects told apart by a `const` property (e.g. auth.type): a picker, then that branch's fields. */
function Variants(p: FieldProps & { branches: Schema[] }) {
  const key = Object.keys(p.branches[0].properties ?? {}).find((k) => p.branches.every((b) => b.properties?.[k]?.const !== undefined));
  if (!key) return <Field {...p} schema={{ ...p.schema, anyOf: undefined, oneOf: undefined, type: 'json' }} />;
  const current = isObj(p.value) ? p.value : isObj(p.schema.default) ? p.schema.default : undefined;
  const chosen = p.branches.find((b) => b.properties![key].const === current?.[key]);
  const id = domId(`${p.path}.${key}`);
  return (
    <fieldset className={p.name ? 'nested' : 'plain-fieldset'}>
      {p.name ? <legend>{label(p.name, p.schema)}</legend> : <legend className="sr-only">Settings</legend>}
      {p.schema.description && <p className="hint">{p.schema.description}</p>}
      <div className="field">
        <label htmlFor={id}>{label(key, {})}</label>
        <select id={id} value={String(current?.[key] ?? '')} disabled={p.readOnly} onChange={(e) => p.onChange(e.target.value ? { [key]: e.target.value } : undefined)}>
          {!p.required && !current && <option value="">—</option>}
          {p.branches.map((b) => (
            <option key={String(b.properties![key].const)} value={String(b.properties![key].const)}>
              {String(b.properties![key].const)}
            </option>
          ))}
        </select>
      </div>
      {chosen && (
        <ObjectFields
          schema={{ ...chosen, properties: Object.fromEntries(Object.entries(chosen.properties!).filter(([k]) => k !== key)) }}
          value={current ?? {}}
          onChange={(v) => p.onChange({ ...v, [key]: current?.[key] })}
          path={p.path}
          errors={p.errors}
          readOnly={p.readOnly}
        />
      )}
      {p.errors[p.path] && <p className="field-error" role="alert">{p.errors[p.path]}</p>}
    </fieldset>
  );
}

/** Write-only: never shows a stored value; "set" plus Replace, or an empty password field. */
function SecretInput(p: FieldProps & { id: string }) {
  const [replacing, setReplacing] = useState(false);
  if (isMask(p.value) && !replacing) {
    return (
      <div className="secret-set">
        <span className="badge">set</span>
        {!p.readOnly && (
          <button type="button" id={p.id} aria-label="Replace the stored value" onClick={() => { setReplacing(true); p.onChange(undefined); }}>
            Replace
          </button>
        )}
      </div>
    );
  }
  return (
    <input id={p.id} type="password" autoComplete="new-password" value={typeof p.value === 'string' ? p.value : ''} readOnly={p.readOnly}
      aria-invalid={Boolean(p.errors[p.path])} placeholder={replacing ? 'new value (leave empty to keep the stored one)' : ''}
      onChange={(e) => p.onChange(e.target.value === '' ? (replacing ? { set: true } : undefined) : e.target.value)} />
  );
}

/** Anything the form has no widget for: JSON text, parsed when valid. */
function JsonInput({ id, value, onChange, readOnly, invalid }: { id: string; value: unknown; onChange: (v: unknown) => void; readOnly: boolean; invalid: boolean }) {
  const [text, setText] = useState(value === undefined ? '' : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea id={id} rows={4} className="mono" value={text} readOnly={readOnly} aria-invalid={invalid || bad}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') { setBad(false); onChange(undefined); return; }
          try { onChange(JSON.parse(e.target.value)); setBad(false); } catch { setBad(true); }
        }} />
      {bad && <p className="field-error">not valid JSON yet</p>}
    </>
  );
}
