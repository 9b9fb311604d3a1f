import { useEffect, useState } from 'react';

/** Seconds until `iso`, ticking; "due now" once it passed. */
export function Countdown({ iso }: { iso: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  const text = s === 0 ? 'due now' : s < 120 ? `in ${s} s` : s < 7200 ? `in ${Math.floor(s / 60)} min ${s % 60} s` : `in ${Math.round(s / 3600)} h`;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()} data-testid="countdown">
      {text}
    </time>
  );
}
