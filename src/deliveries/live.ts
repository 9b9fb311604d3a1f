import crypto from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from '../logger';
import type { DeliveryService } from './service';

/** A delivery as the log shows it. */
type DeliveryView = ReturnType<DeliveryService['view']>;

/** Someone watching the log: changed deliveries, "reload, too much changed (or we may have missed some)", the end. */
interface LiveListener {
  changed(deliveries: DeliveryView[]): void;
  resync(): void;
  ended(): void;
}

const CHANNEL = 'delivery_changes';
/** Changes are gathered this long, then loaded in one query for every listener. */
const BATCH_MS = 100;
const RECONNECT_MS = 1000;
/** A lease lasts this long (s) and is renewed every LEASE_RENEW_MS while anyone watches. */
const LEASE_SECONDS = 60;
const LEASE_RENEW_MS = 20_000;
/** At most this long, a new lease waits for the writes that were in progress when it was taken (ms). */
const IN_PROGRESS_WAIT_MS = 10_000;

/**
 * Live updates of the delivery log for one API process: LISTENs on `delivery_changes` (sent by a trigger on
 * every insert and update of deliveries, whichever process made it) while anyone watches, loads the changed
 * rows once per batch and hands them to every listener.
 *
 * The trigger sends only while some process holds a current lease in `live_watchers` (migration
 * LiveWatchers1765600000000: each NOTIFY holds PostgreSQL's cluster-wide notify lock through its commit). This
 * process holds one while it listens: taken after LISTEN, renewed every 20 s for 60 s, deleted when the last
 * listener leaves. Listeners hear `ready` only once every write that was in progress when the lease was taken has
 * ended (its trigger may have run before the lease), so a list loaded after `ready` misses nothing.
 */
export class LiveDeliveries {
  private readonly listeners = new Set<LiveListener>();
  /** This process's lease row. */
  private readonly leaseId = `api-${crypto.randomUUID()}`;
  private renewTimer?: NodeJS.Timeout;
  private client?: Client;
  private connecting?: Promise<void>;
  private pending = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string | undefined,
    private readonly deliveries: DeliveryService,
    private readonly logger: Logger,
  ) {}

  /** Starts listening for `l` (resolves once LISTEN is in place); returns the function that stops it. */
  async subscribe(l: LiveListener): Promise<() => void> {
    this.listeners.add(l);
    try {
      await this.connect();
    } catch (err) {
      this.listeners.delete(l);
      throw err;
    }
    if (!this.listeners.has(l)) return () => {}; // stopped meanwhile
    return () => {
      this.listeners.delete(l);
      if (!this.listeners.size) this.disconnect();
    };
  }

  /** Ends every stream and the LISTEN connection (at shutdown). */
  stop(): void {
    for (const l of this.listeners) l.ended();
    this.listeners.clear();
    this.disconnect();
  }

  private connect(): Promise<void> {
    if (this.client) return Promise.resolve();
    if (!this.databaseUrl) return Promise.reject(new Error('no database URL for live updates'));
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.databaseUrl, application_name: 'integrations-hub-live' });
      client.on('notification', (msg) => this.notified(msg.payload));
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client));
      let leased = false;
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        leased = true;
        await this.lease(client);
        // everyone left (or stop()) while this connected: do not keep a connection nobody listens on
        if (!this.listeners.size) throw new Error('nobody listens any more');
        this.client = client;
        this.renewTimer = setInterval(() => void this.renew(client), LEASE_RENEW_MS);
      } catch (err) {
        // a lease taken for nobody goes again, not awaited: a query on a connection that broke may never answer
        if (leased) void this.release(client);
        else await client.end().catch(() => undefined);
        throw err;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /**
   * Takes (or renews) this process's lease, then waits until every transaction in progress at that moment has
   * ended: one whose trigger ran before the lease committed sent nothing, and must be visible before `ready`.
   */
  private async lease(client: Client): Promise<void> {
    await client.query(
      `WITH gone AS (DELETE FROM live_watchers WHERE expires_at < now() - interval '1 hour')
       INSERT INTO live_watchers (id, expires_at) VALUES ($1, now() + make_interval(secs => $2))
       ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [this.leaseId, LEASE_SECONDS],
    );
    const xip = (await client.query(`SELECT coalesce(array_agg(x::text), '{}') AS xip FROM pg_snapshot_xip(pg_current_snapshot()) x`)).rows[0].xip as string[];
    const deadline = Date.now() + IN_PROGRESS_WAIT_MS;
    while (xip.length > 0 && Date.now() < deadline) {
      const r = await client.query(`SELECT count(*)::int AS n FROM unnest($1::xid8[]) x WHERE pg_xact_status(x) = 'in progress'`, [xip]);
      if (r.rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (xip.length > 0) this.logger.warn({ waitedMs: IN_PROGRESS_WAIT_MS }, 'live updates: transactions older than the lease still run; a change they make may show only after a reload');
  }

  /** Renews the lease; one that lapsed (this process stalled, or the row was removed) is taken again and listeners resync. */
  private async renew(client: Client): Promise<void> {
    if (this.client !== client) return;
    try {
      const r = await client.query(
        `UPDATE live_watchers w SET expires_at = now() + make_interval(secs => $2)
           FROM live_watchers old WHERE w.id = $1 AND old.id = $1 RETURNING old.expires_at > now() AS current`,
        [this.leaseId, LEASE_SECONDS],
      );
      if (r.rows[0]?.current === true) return;
      await this.lease(client);
      if (this.client === client) this.listeners.forEach((l) => l.resync());
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private disconnect(): void {
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    clearInterval(this.renewTimer);
    this.flushTimer = undefined;
    this.renewTimer = undefined;
    this.pending.clear();
    const c = this.client;
    this.client = undefined;
    // nobody here watches any more: the lease goes (a process that dies leaves one that lapses in a minute)
    if (c) void this.release(c);
  }

  /** Deletes this process's lease on `client`, then closes it. */
  private release(client: Client): Promise<void> {
    return client
      .query(`DELETE FROM live_watchers WHERE id = $1`, [this.leaseId])
      .then(() => undefined, () => undefined)
      .finally(() => client.end().catch(() => undefined));
  }

  // the connection dropped: reconnect while anyone listens, and tell them to reload what they may have missed
  private lost(client: Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    client.end().catch(() => undefined);
    this.logger.warn({ err: err?.message }, 'live updates: LISTEN connection lost; reconnecting');
    const retry = () => {
      if (!this.listeners.size) return;
      this.connect().then(
        () => this.listeners.forEach((l) => l.resync()),
        () => (this.reconnectTimer = setTimeout(retry, RECONNECT_MS)),
      );
    };
    this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
  }

  private notified(payload: string | undefined): void {
    let msg: { ids?: string[]; many?: boolean };
    try {
      msg = JSON.parse(payload ?? '{}');
    } catch {
      return;
    }
    if (msg.many) {
      this.listeners.forEach((l) => l.resync());
      return;
    }
    for (const id of msg.ids ?? []) this.pending.add(id);
    this.flushTimer ??= setTimeout(() => void this.flush(), BATCH_MS);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const ids = [...this.pending];
    this.pending.clear();
    try {
      const views = await this.deliveries.views(ids);
      if (views.length) this.listeners.forEach((l) => l.changed(views));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'live updates: could not load changed deliveries');
      this.listeners.forEach((l) => l.resync());
    }
  }
}
