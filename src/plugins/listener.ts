import { Client } from 'pg';
import type { Logger } from '../logger';

const RECONNECT_MS = 1000;

/**
 * Calls `onChange` for every NOTIFY on `channel`, and once after each (re)connect since notifications sent
 * while disconnected are lost. Keeps one connection open until stop().
 */
export class ChannelListener {
  private client?: Client;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {}

  /** Resolves once LISTEN is in place. */
  async start(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl, application_name: `integrations-hub-${this.channel}` });
    client.on('notification', () => this.onChange());
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private lost(client: Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.logger.warn({ err: err?.message, channel: this.channel }, 'LISTEN connection lost; reconnecting');
    const retry = () => {
      if (this.stopped) return;
      this.start().then(
        () => this.onChange(),
        () => (this.timer = setTimeout(retry, RECONNECT_MS)),
      );
    };
    this.timer = setTimeout(retry, RECONNECT_MS);
  }
}
