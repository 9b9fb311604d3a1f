/** API.md retryPolicy: exponential, or an explicit schedule of delays. */
export type RetryPolicy =
  | { maxAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maxIntervalMs: number }
  | { scheduleMs: number[] };

const DEFAULT_EXP = { maxAttempts: 8, initialIntervalMs: 5000, backoffCoefficient: 2, maxIntervalMs: 3_600_000 };

/** The retry policy: the provider's default, an exponential backoff, or a schedule of delays in ms. */
export function RetryPolicyField({ value, onChange, errors, readOnly }: { value: RetryPolicy | null; onChange: (v: RetryPolicy | null) => void; errors: Record<string, string>; readOnly: boolean }) {
  const kind = value === null ? 'default' : 'scheduleMs' in value ? 'schedule' : 'exponential';
  const errorsHere = Object.entries(errors).filter(([k]) => k.startsWith('retryPolicy'));
  return (
    <fieldset className="nested">
      <legend>Retries</legend>
      <div className="field">
        <label htmlFor="f-retryPolicy">Policy</label>
        <select id="f-retryPolicy" value={kind} disabled={readOnly}
          onChange={(e) => onChange(e.target.value === 'default' ? null : e.target.value === 'schedule' ? { scheduleMs: [5000, 30000, 120000] } : DEFAULT_EXP)}>
          <option value="default">default</option>
          <option value="exponential">exponential backoff</option>
          <option value="schedule">fixed schedule</option>
        </select>
      </div>
      {value && 'scheduleMs' in value && (
        <div className="field">
          <label htmlFor="f-retryPolicy-scheduleMs">Delays before each retry (ms, comma-separated)</label>
          <input id="f-retryPolicy-scheduleMs" value={value.scheduleMs.join(', ')} readOnly={readOnly}
            onChange={(e) => onChange({ scheduleMs: e.target.value.split(/[\s,]+/).filter(Boolean).map(Number) })} />
        </div>
      )}
      {value && !('scheduleMs' in value) && (
        <div className="grid-4">
          {(['maxAttempts', 'initialIntervalMs', 'backoffCoefficient', 'maxIntervalMs'] as const).map((k) => (
            <div className="field" key={k}>
              <label htmlFor={`f-retryPolicy-${k}`}>{k}</label>
              <input id={`f-retryPolicy-${k}`} type="number" value={value[k]} readOnly={readOnly} onChange={(e) => onChange({ ...value, [k]: Number(e.target.value) })} />
            </div>
          ))}
        </div>
      )}
      {errorsHere.map(([k, m]) => <p key={k} className="field-error" role="alert">{k}: {m}</p>)}
    </fieldset>
  );
}
