const span = (abs: number) => (abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`);

/** "3 min ago" for something that happened (created, last attempt); "just now" for the last few seconds, and for a time a skewed clock puts ahead. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  return s < 5 ? 'just now' : `${span(s)} ago`;
}

/** "in 12 s" for something due (a next retry); "due now" once it is. */
export function until(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  return s <= 0 ? 'due now' : `in ${span(s)}`;
}

/** Local date and time, to the second. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '—';
}

/** A value for <input type="datetime-local"> from an ISO time, and back. */
export const toLocalInput = (iso?: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
export const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : undefined);
