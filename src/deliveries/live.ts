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

/**
 * Live updates of the delivery log for one API process: LISTENs on `delivery_changes` (sent by a trigger on
 * every insert and update of deliveries, whichever process made it) while anyone watches, loads the changed
 * rows once per batch and hands them to every listener.
 */
export class LiveDeliveries {
  private readonly listeners = new Set<LiveListener>();
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
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        // everyone left (or stop()) while this connected: do not keep a connection nobody listens on
        if (!this.listeners.size) throw new Error('nobody listens any more');
        this.client = client;
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  private disconnect(): void {
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    this.flushTimer = undefined;
    this.pending.clear();
    const c = this.client;
    this.client = undefined;
    c?.end().catch(() => undefined);
  }

  // the connection dropped: reconnect while anyone listens, and tell them to reload what they may have missed
  private lost(client: Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
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
