import type { DataSource } from 'typeorm';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../entities/delivery.entity';

/** A bucket of the delivery log over time: deliveries created in it, by their status now. */
type StatsBucket = { at: string; total: number } & Record<DeliveryStatus, number>;

const WIDTH_S = { hour: 3_600, day: 86_400 } as const;
type BucketSize = keyof typeof WIDTH_S;

/** Deliveries over time and per subscription, aggregated in SQL (the charts of the admin UI). */
export class DeliveryStats {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Deliveries created in each `bucket` (UTC hours or days) of the last `hours`, by status, oldest first; every
   * bucket of the range is there (zeros where nothing happened). One GROUP BY over the `created_at` index
   * (`subscription_id, created_at` with a subscription).
   */
  async series(bucket: BucketSize, hours: number, subscriptionId?: string) {
    const width = WIDTH_S[bucket];
    const nowS = Math.floor(Date.now() / 1000);
    const lastBucket = Math.floor(nowS / width) * width;
    const firstBucket = Math.floor((nowS - hours * 3_600) / width) * width + width;
    const rows: { b: string; status: DeliveryStatus; n: string }[] = await this.dataSource.query(
      `SELECT (floor(extract(epoch FROM created_at) / $2) * $2)::bigint AS b, status, count(*) AS n
         FROM deliveries
        WHERE created_at >= to_timestamp($1) ${subscriptionId ? 'AND subscription_id = $3' : ''}
        GROUP BY 1, 2`,
      subscriptionId ? [firstBucket, width, subscriptionId] : [firstBucket, width],
    );
    const buckets = new Map<number, StatsBucket>();
    for (let b = firstBucket; b <= lastBucket; b += width) {
      buckets.set(b, { at: new Date(b * 1000).toISOString(), total: 0, ...zeros() });
    }
    for (const r of rows) {
      const slot = buckets.get(Number(r.b));
      if (!slot) continue; // created in the future of a skewed clock
      slot[r.status] += Number(r.n);
      slot.total += Number(r.n);
    }
    return {
      bucket,
      since: new Date(firstBucket * 1000).toISOString(),
      until: new Date((lastBucket + width) * 1000).toISOString(),
      subscriptionId: subscriptionId ?? null,
      series: [...buckets.values()],
    };
  }

  /** The system ids events named in the last `days`, most recently seen first, with how many events named each. */
  async systems(days: number) {
    const rows: { id: string; last_seen: Date; n: string }[] = await this.dataSource.query(
      `SELECT s AS id, max(e.received_at) AS last_seen, count(*) AS n
         FROM emissions e CROSS JOIN LATERAL unnest(e.system_ids) AS s
        WHERE e.received_at >= $1
        GROUP BY s ORDER BY max(e.received_at) DESC, s LIMIT 500`,
      [new Date(Date.now() - days * 86_400_000)],
    );
    return rows.map((r) => ({ id: r.id, lastSeenAt: r.last_seen.toISOString(), events: Number(r.n) }));
  }

  /**
   * Per subscription over the last `hours`: deliveries by status, the success rate of the finished ones
   * (success / (success + failed); null while none finished) and when the newest was created.
   */
  async bySubscription(hours: number) {
    const rows: ({ subscription_id: string; last_at: Date; total: string } & Record<DeliveryStatus, string>)[] = await this.dataSource.query(
      `SELECT subscription_id, max(created_at) AS last_at, count(*) AS total,
              ${DELIVERY_STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}') AS "${s}"`).join(', ')}
         FROM deliveries WHERE created_at >= $1 GROUP BY subscription_id`,
      [new Date(Date.now() - hours * 3_600_000)],
    );
    return {
      hours,
      items: rows.map((r) => {
        const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, Number(r[s])])) as Record<DeliveryStatus, number>;
        const finished = counts.success + counts.failed;
        return {
          subscriptionId: r.subscription_id,
          total: Number(r.total),
          ...counts,
          successRate: finished ? counts.success / finished : null,
          lastAt: r.last_at.toISOString(),
        };
      }),
    };
  }
}

function zeros(): Record<DeliveryStatus, number> {
  return Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<DeliveryStatus, number>;
}
