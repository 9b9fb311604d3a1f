import { ApplicationFailure } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { SA_DELIVERY_ID, SA_DELIVERY_STATUS, SA_EVENT, SA_PROVIDER, SA_SUBSCRIPTION_ID } from '../../workflows/search-attributes';
import { conflict } from '../http/problem';
import { withTemporalDeadline } from './deadline';
// the workflow functions, so starts name them by reference (a rename is a compile error, not a start that fails)
import { deliveryWorkflowV3 } from '../../workflows/delivery';
import { recoverDeliveriesWorkflow } from '../../workflows/recovery';
import { replayMissedWorkflow } from '../../workflows/replay';
import { CLOSING_FAILURE, cancelUpdate, laneTurnSignal, recoveryWorkflowId, redeliverUpdate, replayWorkflowId, type DeliveryWorkflowInput, type RecoveryWorkflowInput, type ReplayWorkflowInput } from '../../workflows/types';

/** How long one workflow start may take before it is left to the reconciler (ms). */
export const START_DEADLINE_MS = 3_000;
/** Default of TEMPORAL_REQUEST_TIMEOUT_MS: how long a request waits on Temporal before a 503/504 (ms). */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Rounds of wake-or-start a redelivery tries while a run is finishing under it. */
const REDELIVER_TRIES = 5;

/**
 * The Temporal priority of the delivery workflows that background jobs (bulk recoveries, replays) start: below
 * the default (3) of every other delivery, so that where workflow or activity tasks wait in the delivery queue,
 * new deliveries' tasks are handed out first (activities inherit it from their workflow). A server without task
 * queue priority ignores it.
 */
export const BACKGROUND_PRIORITY = { priorityKey: 4 } as const;

/** How a start or redelivery was asked for: `background` by a bulk recovery or a replay (BACKGROUND_PRIORITY). */
export interface StartOptions {
  background?: boolean;
}

/** The fields of a delivery the workflow start needs (ids and names only). */
export interface DeliveryRef {
  id: string;
  workflowId: string;
  subscriptionId: string;
  event: string;
  provider: string;
  status: string;
}

/** Starts and steers delivery workflows. */
export class DeliveryWorkflows {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly uiUrl: string,
    private readonly namespace: string,
    /** How long a request-path call (redeliver, cancel, starting a recovery or replay) waits on Temporal (503/504 after). */
    private readonly requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
    /** Where recoveries and replays run (their own Worker and slots); absent: the delivery queue. */
    private readonly backgroundTaskQueue = taskQueue,
  ) {}

  /** `fn` with a deadline on its Temporal calls (see withTemporalDeadline). */
  private bounded<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return withTemporalDeadline(this.client.connection, this.requestTimeoutMs, operation, fn);
  }

  /**
   * Starts the workflow of a new delivery. Idempotent: the id is derived from (emission, subscription)
   * and started with REJECT_DUPLICATE, so a second start (reconciler, retry of the request) is a success.
   */
  async start(d: DeliveryRef, opts: StartOptions = {}): Promise<void> {
    try {
      // bounded: while Temporal is unreachable the rows are already durable and the reconciler starts
      // them later, so an ingest request should not wait out the client's own retries (~20 s)
      await this.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
        this.client.workflow.start(deliveryWorkflowV3, {
          workflowId: d.workflowId,
          taskQueue: this.taskQueue,
          // not quietSuccess: a first-attempt success must show as `success` in Temporal Web (docs/DESIGN.md decision 14)
          args: [{ deliveryId: d.id, fresh: true } satisfies DeliveryWorkflowInput],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: searchAttributes(d),
          ...(opts.background ? { priority: BACKGROUND_PRIORITY } : {}),
        }),
      );
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /**
   * Asks for a new attempt now: wakes a running workflow, or starts a new run for a closed one
   * (its first attempt is recorded as `manual`). Returns how it was done; a 409 problem when the running
   * workflow refuses (it is being cancelled or is ending).
   */
  async redeliver(d: DeliveryRef, opts: StartOptions = {}): Promise<'woken' | 'restarted'> {
    return this.bounded(`the retry of delivery ${d.id}`, () => this.wakeOrRestart(d, opts));
  }

  private async wakeOrRestart(d: DeliveryRef, opts: StartOptions): Promise<'woken' | 'restarted'> {
    // a run can be just finishing: the wake misses it, and the start finds it still there; look again
    for (let tries = 1; ; tries++) {
      if (await this.wake(d)) return 'woken';
      try {
        await this.client.workflow.start(deliveryWorkflowV3, {
          workflowId: d.workflowId,
          taskQueue: this.taskQueue,
          args: [{ deliveryId: d.id, trigger: 'manual', redelivery: d.status === 'success' } satisfies DeliveryWorkflowInput],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: searchAttributes({ ...d, status: 'retrying' }),
          ...(opts.background ? { priority: BACKGROUND_PRIORITY } : {}),
        });
        return 'restarted';
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        if (tries >= REDELIVER_TRIES) throw conflict(`Delivery ${d.id} is changing state right now; try again`);
        await new Promise((r) => setTimeout(r, 50 * tries));
      }
    }
  }

  /** Stops further retries of a running workflow; false when none is running or it refused (already ending). */
  async cancel(d: DeliveryRef, reason: string): Promise<boolean> {
    try {
      const r = await this.bounded(`the cancel of delivery ${d.id}`, () =>
        this.client.workflow.getHandle(d.workflowId).executeUpdate(cancelUpdate, { args: [reason] }),
      );
      return r.accepted;
    } catch (err) {
      if (isNotRunning(err) || refusal(err)) return false;
      throw err;
    }
  }

  /**
   * Tells deliveries waiting in their lanes that the delivery ahead has ended (laneTurnSignal), each signal
   * bounded; a workflow that is not running is skipped (it looks at its lane when it runs).
   */
  async signalLaneTurn(workflowIds: string[]): Promise<void> {
    await Promise.all(
      workflowIds.map((id) =>
        this.client.connection
          .withDeadline(Date.now() + START_DEADLINE_MS, () => this.client.workflow.getHandle(id).signal(laneTurnSignal))
          .catch((err) => {
            if (!isNotRunning(err)) throw err;
          }),
      ),
    );
  }

  /** Starts the background workflow of a bulk recovery (its row is already stored). */
  async startRecovery(recoveryId: string): Promise<void> {
    await this.bounded(`the start of recovery ${recoveryId}`, () =>
      this.client.workflow.start(recoverDeliveriesWorkflow, {
        workflowId: recoveryWorkflowId(recoveryId),
        taskQueue: this.backgroundTaskQueue,
        args: [{ recoveryId } satisfies RecoveryWorkflowInput],
      }),
    );
  }

  /** Starts the background workflow of a replay of missed events (its row is already stored). */
  async startReplay(replayId: string): Promise<void> {
    await this.bounded(`the start of replay ${replayId}`, () =>
      this.client.workflow.start(replayMissedWorkflow, {
        workflowId: replayWorkflowId(replayId),
        taskQueue: this.backgroundTaskQueue,
        args: [{ replayId } satisfies ReplayWorkflowInput],
      }),
    );
  }

  /**
   * The status of a background job's workflow (`RUNNING`, `TERMINATED`, `TIMED_OUT`, ...), or `NOT_FOUND`; bounded
   * by START_DEADLINE_MS (throws when Temporal does not answer in time: the caller keeps the job counted).
   */
  async jobWorkflowStatus(workflowId: string): Promise<string> {
    try {
      const d = await this.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => this.client.workflow.getHandle(workflowId).describe());
      return d.status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
      throw err;
    }
  }

  /** A link to the workflow in Temporal Web. */
  url(workflowId: string): string {
    return `${this.uiUrl}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  private async wake(d: DeliveryRef): Promise<boolean> {
    try {
      const r = await this.client.workflow.getHandle(d.workflowId).executeUpdate(redeliverUpdate);
      return r.accepted;
    } catch (err) {
      // a validator's refusal first: it is a WorkflowUpdateFailedError too, but the run is still there
      const refused = refusal(err);
      if (refused) throw conflict(`Delivery ${d.id} cannot be redelivered now: ${refused}`);
      if (isNotRunning(err)) return false;
      throw err;
    }
  }
}

/** The reason a workflow's update validator gave for refusing a message (see workflows/loop.ts rejectUpdate). */
function refusal(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  return cause instanceof ApplicationFailure && cause.type === CLOSING_FAILURE ? cause.message : undefined;
}

function isNotRunning(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  // the run finished before it took the update (callers check refusal() first)
  if (err instanceof WorkflowUpdateFailedError) return true;
  const e = err as { code?: number; message?: string; cause?: { code?: number; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = `${e?.message ?? ''} ${e?.cause?.message ?? ''}`;
  // NOT_FOUND, or FAILED_PRECONDITION "workflow execution already completed"
  return code === 5 || /already completed|not found/i.test(message);
}

function searchAttributes(d: DeliveryRef) {
  return [
    { key: SA_DELIVERY_ID, value: d.id },
    { key: SA_SUBSCRIPTION_ID, value: d.subscriptionId },
    { key: SA_EVENT, value: d.event },
    { key: SA_PROVIDER, value: d.provider },
    { key: SA_DELIVERY_STATUS, value: d.status },
  ];
}
