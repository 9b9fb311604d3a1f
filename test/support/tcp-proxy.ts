import net from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 that a test can cut and restore, to make one process lose a dependency
 * while others keep it. Cut: the listener closes and every open connection is destroyed, so the client
 * sees its connections reset and new ones refused. Restore: it listens again on the same port.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Connections accepted since start (a quick way to see the client really goes through us). */
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get isOpen(): boolean {
    return this.server?.listening === true;
  }

  /** Listens on `port` (0 = any free port, remembered for restore). */
  async start(port = 0): Promise<this> {
    await this.listen(port);
    return this;
  }

  /** Refuses new connections and resets the open ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.isOpen) return;
    // the port was ours a moment ago; a short retry covers a slow close
    for (let i = 0; ; i++) {
      try {
        await this.listen(this.port);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async stop(): Promise<void> {
    await this.cut();
  }

  /**
   * Stalls: open and new connections stay up but nothing more is forwarded either way, as a server that
   * accepts and never answers (a hung process, a black-holed route). `unstall` forwards again.
   */
  stall(): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  unstall(): void {
    this.stalled = false;
    for (const [client, upstream] of this.pairs) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  }

  private stalled = false;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();

  private listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.forward(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private forward(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    client.once('close', () => this.pairs.delete(pair));
    if (!this.stalled) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  }
}
