import assert from 'node:assert/strict';
import type { ProviderDefinition } from '../../providers/types';
import { Hub, INGEST_TOKEN, waitFor } from './hub';

/**
 * What a fake must offer the suite: a stop, and what to forget before each test: its own `reset()` when it has
 * one, else its recorded requests and its scripted answers (when they are arrays).
 */
interface SuiteFake {
  stop(): Promise<void>;
  reset?(): void;
  requests?: unknown[];
  script?: unknown;
}

export interface PipelineSuite<F extends SuiteFake> {
  /** Started in the suite's `before`, closed in its `after`. */
  readonly hub: Hub;
  readonly fake: F;
  /** Creates a subscription (`201` required) as `token`'s holder (default: the admin) and returns it. */
  subscribe(body: Record<string, unknown>, token?: string): Promise<{ id: string; config: Record<string, unknown> } & Record<string, any>>;
  /**
   * Ingests one event (`202` and exactly one matching subscription required) and returns its delivery id;
   * `id` undefined: the hub names the event.
   */
  ingest(event: string, id: string | undefined, payload: Record<string, unknown>): Promise<string>;
  /** The delivery once it has `status` (default `success`), waiting up to `timeoutMs`. */
  settled(deliveryId: string, status?: string, timeoutMs?: number): Promise<any>;
}

/**
 * The set-up every provider's pipeline test shares, registered as the calling `describe`'s hooks: the provider's
 * fake and a hub (API + worker on the shared Temporal dev server and PostgreSQL, database `database`) before the
 * suite, both stopped after it; before each test the fake is reset (or its recorded requests and scripted answers cleared), and
 * after each the subscriptions are deleted (their deliveries end), so tests do not see each other's.
 */
export function pipelineSuite<F extends SuiteFake>(opts: {
  database: string;
  fake: () => Promise<F>;
  env?: Record<string, string>;
  providers?: ProviderDefinition[];
}): PipelineSuite<F> {
  let hub: Hub | undefined;
  let fake: F | undefined;
  before(async () => {
    fake = await opts.fake();
    hub = await Hub.start(opts.database, opts.env ?? {}, opts.providers ?? []);
  });
  after(async () => {
    await hub?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    if (fake?.reset) return fake.reset();
    if (Array.isArray(fake?.script)) fake.script.length = 0;
    if (fake?.requests) fake.requests.length = 0;
  });
  afterEach(() => hub?.dataSource.query('DELETE FROM subscriptions'));

  const started = <T>(value: T | undefined, what: string): T => {
    assert.ok(value, `${what} is started in the suite's before hook`);
    return value;
  };
  const suite: PipelineSuite<F> = {
    get hub() {
      return started(hub, 'the hub');
    },
    get fake() {
      return started(fake, 'the fake');
    },
    async subscribe(body, token) {
      const res = await suite.hub.call('POST', '/subscriptions', body, token);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    },
    async ingest(event, id, payload) {
      const res = await suite.hub.call('POST', '/ingest', { event, ...(id === undefined ? {} : { id }), payload }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.deliveries.length, 1, 'one subscription matched');
      return res.body.deliveries[0].id;
    },
    async settled(deliveryId, status = 'success', timeoutMs = 30_000) {
      return waitFor(async () => {
        const d = await suite.hub.call('GET', `/deliveries/${deliveryId}`);
        return d.body.status === status ? d.body : undefined;
      }, `delivery ${deliveryId} to be ${status}`, timeoutMs);
    },
  };
  return suite;
}
