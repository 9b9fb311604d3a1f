import type { DataSource } from 'typeorm';
import type { DeliveryStatus } from '../../entities/delivery.entity';

/** Filters of the delivery log (API.md "Delivery log"); `status` may name several statuses. */
export interface DeliveryFilter {
  status?: DeliveryStatus | DeliveryStatus[];
  subscriptionId?: string;
  event?: string;
  provider?: string;
  systemId?: string;
  since?: string;
  until?: string;
  /** A delivery id, emission id or external id. */
  search?: string;
}

/** The fields of a delivery a filter looks at. */
export interface FilterableDelivery {
  id: string;
  status: string;
  subscriptionId: string;
  event: string;
  provider: string;
  systemIds: string[];
  emissionId: string;
  externalId: string | null;
  createdAt: string;
}

const statuses = (f: DeliveryFilter): DeliveryStatus[] => (f.status === undefined ? [] : Array.isArray(f.status) ? f.status : [f.status]);

/** Adds the filter's conditions to a query on `deliveries d`; each filter has an index that leads with it. */
export function applyFilter(qb: ReturnType<DataSource['createQueryBuilder']>, f: DeliveryFilter): void {
  const st = statuses(f);
  if (st.length === 1) qb.andWhere('d.status = :status', { status: st[0] });
  else if (st.length > 1) qb.andWhere('d.status IN (:...statuses)', { statuses: st });
  if (f.subscriptionId) qb.andWhere('d.subscription_id = :subscriptionId', { subscriptionId: f.subscriptionId });
  if (f.event) qb.andWhere('d.event = :event', { event: f.event });
  if (f.provider) qb.andWhere('d.provider = :provider', { provider: f.provider });
  if (f.systemId) qb.andWhere('d.system_ids @> ARRAY[:systemId]::text[]', { systemId: f.systemId });
  if (f.since) qb.andWhere('d.created_at >= :since', { since: f.since });
  if (f.until) qb.andWhere('d.created_at < :until', { until: f.until });
  if (f.search) qb.andWhere('(d.id = :search OR d.emission_id = :search OR d.external_id = :search)', { search: f.search });
}

/** Whether a delivery passes the filter: the same conditions as applyFilter, for live updates. */
export function matchesFilter(d: FilterableDelivery, f: DeliveryFilter): boolean {
  const st = statuses(f);
  if (st.length && !st.includes(d.status as DeliveryStatus)) return false;
  if (f.subscriptionId && d.subscriptionId !== f.subscriptionId) return false;
  if (f.event && d.event !== f.event) return false;
  if (f.provider && d.provider !== f.provider) return false;
  if (f.systemId && !d.systemIds.includes(f.systemId)) return false;
  const at = Date.parse(d.createdAt);
  if (f.since && at < Date.parse(f.since)) return false;
  if (f.until && at >= Date.parse(f.until)) return false;
  if (f.search && d.id !== f.search && d.emissionId !== f.search && d.externalId !== f.search) return false;
  return true;
}
