import { outcomeFromError } from '../http/outcome';
import { OptionsQueryError } from '../options';
import type { ConnectionContext, OptionItem, OutboundResponse } from '../types';
import { JiraClient, jsonBody } from './client';
import { jiraConnectionSchema, type JiraConnection } from './config';
import { classifyJiraResponse } from './errors';

/** Pages of /project/search read for the projects dropdown (100 projects each). */
const MAX_PROJECT_PAGES = 20;

function clientOf(ctx: ConnectionContext<JiraConnection>): JiraClient {
  return new JiraClient(jiraConnectionSchema.parse(ctx.connection), ctx.http);
}

/** GET, then the JSON body of a 2xx; otherwise throws an Error with the readable classification. */
async function getJson(client: JiraClient, apiPath: string, what: string): Promise<unknown> {
  let res: OutboundResponse;
  try {
    res = await client.get(apiPath);
  } catch (err) {
    const outcome = outcomeFromError(err, client.secrets);
    throw new Error(outcome.kind === 'success' ? 'request failed' : outcome.error);
  }
  const outcome = classifyJiraResponse(res, { operation: what, flavor: client.connection.flavor, secrets: client.secrets });
  if (outcome.kind !== 'success') throw new Error(outcome.kind === 'permanent' && outcome.pauseReason ? outcome.pauseReason : outcome.error);
  const body = jsonBody(res);
  if (body === undefined) throw new Error(`Jira answered ${what} with a body that is not JSON: is the base URL the Jira site?`);
  return body;
}

/** `GET /myself`: "Connected as <display name>". */
export async function testJiraConnection(ctx: ConnectionContext<JiraConnection>): Promise<{ ok: boolean; message: string }> {
  const client = clientOf(ctx);
  try {
    const body = await getJson(client, 'myself', 'reading the current user');
    // Jira names the user: accountId on Cloud, key/name on Data Center. Any other JSON (a web server or
    // another API answering 200, e.g. {"ok":true}) is not Jira, however successful the HTTP answer was.
    const me = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
    const name = text(me.displayName) ?? text(me.name) ?? text(me.accountId) ?? text(me.key);
    if (!name) {
      return { ok: false, message: 'The base URL answered, but not as a Jira API: /myself returned no Jira user (is the base URL the Jira site?)' };
    }
    return { ok: true, message: `Connected as ${name}` };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : 'the connection test failed' };
  }
}

interface Named {
  id?: unknown;
  key?: unknown;
  name?: unknown;
  subtask?: unknown;
  custom?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** Projects by key: `/project/search` pages on Cloud, the `/project` list on Data Center. */
async function projects(ctx: ConnectionContext<JiraConnection>): Promise<OptionItem[]> {
  const client = clientOf(ctx);
  let found: Named[] = [];
  if (client.connection.flavor === 'datacenter') {
    const list = await getJson(client, 'project', 'listing projects');
    found = Array.isArray(list) ? list : [];
  } else {
    for (let page = 0, startAt = 0; page < MAX_PROJECT_PAGES; page++) {
      const body = (await getJson(client, `project/search?startAt=${startAt}&maxResults=100&orderBy=key`, 'listing projects')) as {
        values?: Named[];
        isLast?: boolean;
      };
      const values = Array.isArray(body.values) ? body.values : [];
      found.push(...values);
      startAt += values.length;
      if (body.isLast !== false || values.length === 0) break;
    }
  }
  return found.flatMap((p) => {
    const key = str(p.key);
    return key ? [{ value: key, label: str(p.name) ? `${str(p.name)} (${key})` : key }] : [];
  });
}

/** Issue types of `?projectKey=`, sub-tasks left out (an issue made by an event has no parent). */
async function issueTypes(ctx: ConnectionContext<JiraConnection>): Promise<OptionItem[]> {
  const projectKey = ctx.query.projectKey;
  if (!projectKey) throw new OptionsQueryError('projectKey', 'is required: the issue types of which project');
  const project = (await getJson(clientOf(ctx), `project/${encodeURIComponent(projectKey)}`, `reading project ${projectKey}`)) as {
    issueTypes?: Named[];
  };
  return (Array.isArray(project.issueTypes) ? project.issueTypes : [])
    .filter((t) => t.subtask !== true)
    .flatMap((t) => (str(t.id) && str(t.name) ? [{ value: str(t.id)!, label: str(t.name)! }] : []));
}

/** Priorities by id. */
async function priorities(ctx: ConnectionContext<JiraConnection>): Promise<OptionItem[]> {
  const list = await getJson(clientOf(ctx), 'priority', 'listing priorities');
  return (Array.isArray(list) ? (list as Named[]) : []).flatMap((p) => (str(p.id) && str(p.name) ? [{ value: str(p.id)!, label: str(p.name)! }] : []));
}

/** Custom fields (standard fields have their own config entries). */
async function fields(ctx: ConnectionContext<JiraConnection>): Promise<OptionItem[]> {
  const list = await getJson(clientOf(ctx), 'field', 'listing fields');
  return (Array.isArray(list) ? (list as Named[]) : [])
    .filter((f) => f.custom === true)
    .flatMap((f) => (str(f.id) && str(f.name) ? [{ value: str(f.id)!, label: `${str(f.name)} (${str(f.id)})` }] : []))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** Dropdown resolvers: `projects`, `issueTypes?projectKey=`, `priorities`, `fields`. */
export const jiraOptions = { projects, issueTypes, priorities, fields };
