import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome } from '../types';
import { TemplateError } from '../shared/template';
import { issuePath, JiraClient, jsonBody } from './client';
import type { JiraConfig, JiraConnection } from './config';
import { commentBody, issueFields } from './content';
import { classifyJiraResponse, jiraErrorDetails } from './errors';

type Ctx = DeliveryContext<JiraConfig, JiraConnection>;

/**
 * One attempt. The first event about a subject creates an issue (externalId = its key); follow-ups comment
 * on it, and a resolving event also moves it to a done status. A follow-up whose issue is gone makes a
 * replacement issue and returns its key. Never throws for a bad config, template or response.
 */
export async function deliverJira(ctx: DeliveryContext<JiraConfig, JiraConnection>): Promise<DeliveryOutcome> {
  // config and connection are the schemas' output: parsed once by the attempt activity (providers/input.ts)
  if (!ctx.connection) return { kind: 'permanent', errorCode: 'connection_missing', error: 'Jira subscriptions need a connection' };
  const client = new JiraClient(ctx.connection, ctx.http);
  try {
    return ctx.followUp ? await followUp(ctx, client, ctx.followUp.externalId) : await createIssue(ctx, client);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    return outcomeFromError(err, client.secrets);
  }
}

async function createIssue(ctx: Ctx, client: JiraClient, replaces?: string): Promise<DeliveryOutcome> {
  const { projectKey } = ctx.config;
  const res = await client.post('issue', { fields: issueFields(ctx, client.richText, replaces) });
  const outcome = classifyJiraResponse(res, errorContext(ctx, client, `creating an issue in ${projectKey}`, projectKey));
  if (outcome.kind !== 'success') return outcome;
  const created = jsonBody(res) as { key?: unknown } | undefined;
  const key = typeof created?.key === 'string' ? created.key : undefined;
  // An event that ends its subject on first sight (only incident.resolved is subscribed) makes a closed issue.
  // The issue exists now, so a failed move must not make the attempt retry into a second issue.
  if (key && ctx.event.resolves) await moveToDone(ctx, client, key).catch(() => undefined);
  return { kind: 'success', httpStatus: res.status, ...(key ? { externalId: key } : {}) };
}

async function followUp(ctx: Ctx, client: JiraClient, key: string): Promise<DeliveryOutcome> {
  let note: string | undefined;
  if (ctx.event.resolves) {
    // Moved before commenting: a retry after a failed comment finds the issue done and only comments.
    const moved = await moveToDone(ctx, client, key);
    if (moved.kind === 'gone') return createIssue(ctx, client, key);
    if (moved.kind === 'failed') return moved.outcome;
    note = moved.note;
  }
  const res = await client.post(issuePath(key, '/comment'), { body: commentBody(ctx, client.richText, note) });
  if (res.status === 404) return createIssue(ctx, client, key);
  const outcome = classifyJiraResponse(res, errorContext(ctx, client, `commenting on ${key}`));
  return outcome.kind === 'success' ? { ...outcome, externalId: key } : outcome;
}

type MoveResult = { kind: 'moved' | 'stays'; note?: string } | { kind: 'gone' } | { kind: 'failed'; outcome: DeliveryOutcome };

interface Status {
  name?: string;
  statusCategory?: { key?: string };
}
interface Transition {
  id?: string;
  name?: string;
  to?: Status;
}

/**
 * Moves the issue to the configured done status, or else into the "done" category, through whichever
 * transition the workflow offers now (ids differ per workflow, so they are looked up every time).
 * No such transition, or one Jira refuses, is not a failure: the note says so in the comment.
 */
async function moveToDone(ctx: Ctx, client: JiraClient, key: string): Promise<MoveResult> {
  const { doneStatus } = ctx.config;
  const isTarget = (s: Status | undefined) =>
    doneStatus ? s?.name?.toLowerCase() === doneStatus.toLowerCase() : s?.statusCategory?.key === 'done';
  const target = doneStatus ? `"${doneStatus}"` : 'a done status';

  const issueRes = await client.get(issuePath(key, '?fields=status'));
  if (issueRes.status === 404) return { kind: 'gone' };
  const issueOutcome = classifyJiraResponse(issueRes, errorContext(ctx, client, `reading ${key}`));
  if (issueOutcome.kind !== 'success') return { kind: 'failed', outcome: issueOutcome };
  const current = (jsonBody(issueRes) as { fields?: { status?: Status } } | undefined)?.fields?.status;
  if (isTarget(current)) return { kind: 'stays' };
  const from = current?.name ? ` from "${current.name}"` : '';

  const listRes = await client.get(issuePath(key, '/transitions'));
  if (listRes.status === 404) return { kind: 'gone' };
  const listOutcome = classifyJiraResponse(listRes, errorContext(ctx, client, `listing the transitions of ${key}`));
  if (listOutcome.kind !== 'success') return { kind: 'failed', outcome: listOutcome };
  const transitions = (jsonBody(listRes) as { transitions?: Transition[] } | undefined)?.transitions ?? [];
  const chosen = Array.isArray(transitions) ? transitions.find((t) => typeof t?.id === 'string' && isTarget(t.to)) : undefined;
  if (!chosen) {
    return { kind: 'stays', note: `The issue was not moved to ${target}: no transition to it is available${from}.` };
  }

  const moveRes = await client.post(issuePath(key, '/transitions'), { transition: { id: chosen.id } });
  if (moveRes.status === 404) return { kind: 'gone' };
  const moved = classifyJiraResponse(moveRes, errorContext(ctx, client, `moving ${key} to ${chosen.to?.name ?? target}`));
  if (moved.kind === 'success') return { kind: 'moved', note: `Moved to ${chosen.to?.name ?? target}.` };
  // Credentials, rate limits and outages are the attempt's problem; a refusal of this move is the workflow's.
  if (moved.kind === 'retryable' || moveRes.status === 401) return { kind: 'failed', outcome: moved };
  const why = jiraErrorDetails(jsonBody(moveRes)) ?? `HTTP ${moveRes.status}`;
  return { kind: 'stays', note: `The issue was not moved to ${chosen.to?.name ?? target}: Jira answered ${moveRes.status} (${why}).` };
}

function errorContext(ctx: Ctx, client: JiraClient, operation: string, projectKey?: string) {
  return { operation, projectKey, flavor: ctx.connection!.flavor, secrets: client.secrets };
}

