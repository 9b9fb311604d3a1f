import type { DataSource } from 'typeorm';
import type { Position } from '../api/cursor';
import { conflict, notFound } from '../http/problem';
import type { DeliveryWorkflows } from '../temporal/deliveries';
import type { BackgroundJobs } from './background-jobs';
import type { ReplayStore, ReplayView } from './replays';
import { listUndelivered, type UndeliveredFilter, type UndeliveredItem } from './undelivered';

/** Replays of missed events and the list of what was not delivered. */
export class ReplayService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replays: ReplayStore,
    private readonly workflows: DeliveryWorkflows,
    /** The cap on recoveries and replays running at once. */
    private readonly jobs: BackgroundJobs,
  ) {}

  /**
   * Starts a replay: the emissions of [since, until) that the subscription matches and has no delivery of get
   * one, in the background (a workflow). 404 for an unknown subscription, 409 when it is disabled or paused.
   */
  async replay(subscriptionId: string, since: string, until?: string): Promise<ReplayView> {
    const rows: { enabled: boolean; paused_reason: string | null }[] = await this.dataSource.query(
      'SELECT enabled, paused_reason FROM subscriptions WHERE id = $1',
      [subscriptionId],
    );
    if (!rows[0]) throw notFound(`Subscription ${subscriptionId} does not exist`);
    if (!rows[0].enabled) throw conflict(`Subscription ${subscriptionId} is disabled; enable it before replaying`);
    if (rows[0].paused_reason !== null) throw conflict(`Subscription ${subscriptionId} is paused (${rows[0].paused_reason}); resume it before replaying`);
    const replay = await this.jobs.admit('replay', (db) => this.replays.create(subscriptionId, since, until, db));
    try {
      await this.workflows.startReplay(replay.id);
    } catch (err) {
      await this.replays.finish(replay.id, 'failed', 'The replay could not be started; ask again');
      throw err;
    }
    return replay;
  }

  /** A replay and its progress; 404 when it is not one of this subscription's. */
  async get(subscriptionId: string, replayId: string): Promise<ReplayView> {
    const r = await this.replays.get(replayId);
    if (!r || r.subscriptionId !== subscriptionId) throw notFound(`Replay ${replayId} of subscription ${subscriptionId} does not exist`);
    return r;
  }

  undelivered(filter: UndeliveredFilter, limit: number, after?: Position): Promise<{ items: UndeliveredItem[]; next?: Position }> {
    return listUndelivered(this.dataSource, filter, limit, after);
  }
}
