import { Client } from 'pg';
import { Circuits, type CircuitSettings, type Gate } from './circuits';
import type { GateDecision, TargetLimits } from './rate-limits';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';

/** What a worker caches per target: no `target_limits` row that gates it, no circuit other than closed. */
type Kind = 'target_limits' | 'target_health';

const CHANNEL = 'ihub_target_change';
const RECONNECT_MS = 1_000;
/** Default of TARGET_CACHE_TTL_MS. */
const DEFAULT_QUIET_TTL_MS = 2_000;
/** Targets remembered at most (the oldest are forgotten first). */
const MAX_KEYS = 10_000;

/**
 * Which targets a worker may attempt without the circuit and limit statements (issue 22): a target whose last
 * gate found no limit and a closed circuit is "quiet" for `ttlMs`. Kept true across processes: every write to a
 * target's limits, and every circuit that is not closed, NOTIFYs `ihub_target_change` (migration
 * TargetChangeNotify), which drops the target here at once; while the LISTEN connection is down nothing is
 * quiet. A gate that ran while any notification came is not cached (it may have read the state before it).
 */
export class QuietTargets {
  private readonly until = new Map<string, number>();
  private epoch = 0;
  private client?: Client;
  private stopped = false;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly ttlMs = DEFAULT_QUIET_TTL_MS,
  ) {}

  /** Starts listening (resolves once LISTEN is in place, or after a failed try: it retries by itself). */
  async start(): Promise<void> {
    if (this.ttlMs <= 0) return;
    const client = new Client({ connectionString: this.databaseUrl, application_name: 'integrations-hub-target-cache' });
    client.on('notification', (msg) => this.changed(msg.payload));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.stopped) throw new Error('stopped');
      this.client = client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!this.stopped) this.lost(undefined, err as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = undefined;
    this.until.clear();
    await c?.end().catch(() => undefined);
  }

  /** True when `key` is known quiet (and the cache is listening). */
  isQuiet(kind: Kind, key: string): boolean {
    if (!this.client) return false;
    const k = `${kind}:${key}`;
    const t = this.until.get(k);
    if (t === undefined) return false;
    if (t < Date.now()) {
      this.until.delete(k);
      return false;
    }
    return true;
  }

  /** Call before the gate statement; pass the result to markQuiet. */
  begin(): number {
    return this.epoch;
  }

  /** Remembers `key` as quiet, unless a change was notified since `epoch` (or the cache is not listening). */
  markQuiet(kind: Kind, key: string, epoch: number): void {
    if (!this.client || epoch !== this.epoch) return;
    if (this.until.size >= MAX_KEYS) this.until.delete(this.until.keys().next().value as string);
    this.until.set(`${kind}:${key}`, Date.now() + this.ttlMs);
  }

  private changed(payload: string | undefined): void {
    this.epoch++;
    if (payload) this.until.delete(payload);
  }

  private lost(client: Client | undefined, err?: Error): void {
    if (client && this.client !== client) return;
    this.client = undefined;
    this.until.clear();
    this.epoch++;
    client?.end().catch(() => undefined);
    if (this.stopped) return;
    this.logger.warn({ err: err?.message }, 'target cache: LISTEN connection lost; gating every attempt until it is back');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.start(), RECONNECT_MS);
  }
}

/** Circuits whose gate is skipped for a quiet target (and that mark a target quiet when its gate found it closed). */
export class QuietCircuits extends Circuits {
  constructor(dataSource: DataSource, config: CircuitSettings, private readonly quiet: QuietTargets) {
    super(dataSource, config);
  }

  override async gate(targetKey: string): Promise<Gate> {
    if (this.quiet.isQuiet('target_health', targetKey)) return { pass: true, probe: false };
    const epoch = this.quiet.begin();
    const gate = await super.gate(targetKey);
    // passing without a probe: the circuit is closed (or the target has none yet)
    if (gate.pass && !gate.probe) this.quiet.markQuiet('target_health', targetKey, epoch);
    return gate;
  }
}

/** Limits whose slot statement is skipped for a quiet target (no limit row that gates it). */
export function quietLimits(inner: TargetLimits, quiet: QuietTargets): TargetLimits {
  return {
    acquire: async (key, maxHoldMs): Promise<GateDecision> => {
      if (quiet.isQuiet('target_limits', key)) return { kind: 'go', waitMs: 0, free: true };
      const epoch = quiet.begin();
      const d = await inner.acquire(key, maxHoldMs);
      if (d.kind === 'go' && d.free) quiet.markQuiet('target_limits', key, epoch);
      return d;
    },
    learn: (key, retryAfterMs, status) => inner.learn(key, retryAfterMs, status),
  };
}
