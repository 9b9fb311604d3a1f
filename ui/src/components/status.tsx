import type { DeliveryStatus } from '../api/types';

/** A delivery status as a coloured badge (the word is always there: colour is not the only cue). */
export function StatusBadge({ status }: { status: DeliveryStatus | string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}
