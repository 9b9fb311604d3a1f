import type http from 'node:http';
import { HttpFake, readRequest, takeScripted, type FakeAnswer, type FakeRequest } from './http-fake';

/** One request as the fake saw it. */
export interface JiraRequest extends FakeRequest {
  /** The API version of the path (`3`, `2`), or undefined outside /rest/api. */
  version?: string;
  /** The path below `/rest/api/<v>/`, e.g. `issue/OPS-1/comment`. */
  apiPath: string;
}

/** A scripted answer: an object body is sent as JSON. */
export type FakeReply = FakeAnswer;

export interface FakeProject {
  id: string;
  key: string;
  name: string;
  issueTypes: Array<{ id: string; name: string; subtask: boolean }>;
}

export interface FakeStatus {
  id: string;
  name: string;
  category: 'new' | 'indeterminate' | 'done';
}

/** A workflow transition: available from the listed statuses (any status when `from` is empty). */
export interface FakeTransition {
  id: string;
  name: string;
  from: string[];
  to: string;
}

export interface FakeIssue {
  id: string;
  key: string;
  projectKey: string;
  fields: Record<string, any>;
  status: string;
  comments: Array<{ id: string; body: any; at: number }>;
  createdAt: number;
  /** The API version the issue was created through. */
  version: string;
}

const CATEGORY_NAMES = { new: 'To Do', indeterminate: 'In Progress', done: 'Done' } as const;
const CATEGORY_IDS = { new: 2, indeterminate: 4, done: 3 } as const;
const TEXT_LIMIT = 32_767;

/**
 * A small Jira (Cloud REST v3 and Data Center v2 at once): Basic email:token and Bearer PAT auth, projects,
 * issues with per-project keys, comments, statuses and a workflow. Records every request; `script` answers
 * matching requests first (rate limits, outages, field errors).
 */
export class JiraFake extends HttpFake<JiraRequest> {
  readonly email = 'ada@example.com';
  apiToken = 'cloud-api-token-8d1f5e0c7a93b2';
  pat = 'dc-personal-access-token-5b7e91c2d4a6';
  readonly issues = new Map<string, FakeIssue>();
  readonly script: Array<{ when: (r: JiraRequest) => boolean; reply: FakeReply }> = [];
  projects: FakeProject[] = [
    { id: '10000', key: 'OPS', name: 'Operations', issueTypes: types() },
    { id: '10010', key: 'SUP', name: 'Support', issueTypes: types() },
    { id: '10020', key: 'INF', name: 'Infrastructure', issueTypes: types() },
  ];
  priorities = [
    { id: '1', name: 'Highest' },
    { id: '2', name: 'High' },
    { id: '3', name: 'Medium' },
    { id: '4', name: 'Low' },
  ];
  fields = [
    { id: 'summary', name: 'Summary', custom: false, schema: { type: 'string', system: 'summary' } },
    { id: 'customfield_10010', name: 'Incident id', custom: true, schema: { type: 'string' } },
    { id: 'customfield_10020', name: 'Impact score', custom: true, schema: { type: 'number' } },
    { id: 'customfield_10030', name: 'Affected area', custom: true, schema: { type: 'option' } },
  ];
  statuses: FakeStatus[] = [
    { id: '10000', name: 'To Do', category: 'new' },
    { id: '3', name: 'In Progress', category: 'indeterminate' },
    { id: '10001', name: 'Done', category: 'done' },
  ];
  transitions: FakeTransition[] = [
    { id: '11', name: 'Start progress', from: ['To Do'], to: 'In Progress' },
    { id: '21', name: 'Stop progress', from: ['In Progress'], to: 'To Do' },
    { id: '31', name: 'Done', from: ['To Do', 'In Progress'], to: 'Done' },
    { id: '41', name: 'Reopen', from: ['Done'], to: 'To Do' },
  ];
  /** Largest page /project/search returns, whatever maxResults asks. */
  pageSize = 50;
  private nextId = 10100;
  private readonly counters = new Map<string, number>();

  /** The site's base URL. */
  get url(): string {
    return this.origin;
  }

  protected override defaultHeaders(a: FakeAnswer): Record<string, string> {
    return a.body !== undefined && typeof a.body !== 'string' ? { 'content-type': 'application/json;charset=UTF-8' } : {};
  }

  protected override answer(r: JiraRequest): FakeAnswer {
    return takeScripted(this.script, (s) => s.when(r))?.reply ?? this.reply(r);
  }

  /** Answers the next `times` requests matching `method` and the API path pattern with `reply`. */
  failNext(method: string, apiPath: RegExp, reply: FakeReply, times = 1): void {
    for (let i = 0; i < times; i++) this.script.push({ when: (r) => r.method === method && apiPath.test(r.apiPath), reply });
  }

  /** Requests by method and API path pattern. */
  at(method: string, apiPath: RegExp): JiraRequest[] {
    return this.requests.filter((r) => r.method === method && apiPath.test(r.apiPath));
  }

  /** Issues of a project, oldest first. */
  issuesIn(projectKey: string): FakeIssue[] {
    return [...this.issues.values()].filter((i) => i.projectKey === projectKey);
  }

  deleteIssue(key: string): void {
    this.issues.delete(key);
  }

  protected override record(req: http.IncomingMessage, body: string): JiraRequest {
    const r = readRequest(req, body);
    const m = /^\/rest\/api\/(\d)\/(.*)$/.exec(r.path);
    return { ...r, version: m?.[1], apiPath: m ? decodeURIComponent(m[2]) : r.path };
  }

  private authorised(r: JiraRequest): FakeReply | undefined {
    const auth = r.headers.authorization ?? '';
    if (auth.startsWith('Basic ')) {
      if (Buffer.from(auth.slice(6), 'base64').toString('utf8') === `${this.email}:${this.apiToken}`) return undefined;
      return { status: 401, headers: { 'content-type': 'text/plain;charset=UTF-8', 'www-authenticate': 'Basic realm="protected-area"', 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' }, body: 'Client must be authenticated to access this resource.' };
    }
    if (auth === `Bearer ${this.pat}`) return undefined;
    return { status: 401, headers: { 'www-authenticate': 'OAuth realm="http%3A%2F%2Ffake"' }, body: { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} } };
  }

  private reply(r: JiraRequest): FakeReply {
    if (!r.version) return { status: 404, body: '<html>Not found</html>' };
    const denied = this.authorised(r);
    if (denied) return denied;
    const p = r.apiPath;
    const issueRoute = /^issue\/([^/]+)(\/comment|\/transitions)?$/.exec(p);
    if (r.method === 'GET' && p === 'myself') return ok({ accountId: '5b10a2844c20165700ede21g', name: 'ada', displayName: 'Ada Lovelace', emailAddress: this.email, active: true });
    if (r.method === 'GET' && p === 'project/search') return ok(this.projectPage(r));
    if (r.method === 'GET' && p === 'project') return ok(this.projects.map(({ issueTypes: _, ...rest }) => rest));
    if (r.method === 'GET' && p.startsWith('project/')) {
      const project = this.project(p.slice('project/'.length));
      return project ? ok(project) : notFound(`No project could be found with key '${p.slice(8)}'.`);
    }
    if (r.method === 'GET' && p === 'priority') return ok(this.priorities);
    if (r.method === 'GET' && p === 'field') return ok(this.fields);
    if (r.method === 'POST' && p === 'issue') return this.create(r);
    if (!issueRoute) return notFound(`null for uri: ${r.url}`);
    const issue = this.issues.get(issueRoute[1]);
    if (!issue) return notFound('Issue does not exist or you do not have permission to see it.');
    if (r.method === 'GET' && !issueRoute[2]) return ok({ id: issue.id, key: issue.key, fields: { status: this.statusJson(issue.status) } });
    if (r.method === 'POST' && issueRoute[2] === '/comment') return this.comment(r, issue);
    if (r.method === 'GET' && issueRoute[2] === '/transitions') return ok({ expand: 'transitions', transitions: this.available(issue).map((t) => this.transitionJson(t)) });
    if (r.method === 'POST' && issueRoute[2] === '/transitions') return this.transition(r, issue);
    return { status: 405, body: '' };
  }

  private project(keyOrId: string): FakeProject | undefined {
    return this.projects.find((p) => p.key === keyOrId || p.id === keyOrId);
  }

  private projectPage(r: JiraRequest) {
    const startAt = Number(r.query.get('startAt') ?? 0);
    const maxResults = Math.min(Number(r.query.get('maxResults') ?? 50), this.pageSize);
    const values = this.projects.slice(startAt, startAt + maxResults).map(({ issueTypes: _, ...rest }) => rest);
    return { startAt, maxResults, total: this.projects.length, isLast: startAt + values.length >= this.projects.length, values };
  }

  private create(r: JiraRequest): FakeReply {
    const f = r.json?.fields ?? {};
    const errors: Record<string, string> = {};
    const project = this.project(f.project?.key ?? f.project?.id ?? '');
    if (!project) errors.project = 'valid project is required';
    const type = project?.issueTypes.find((t) => t.id === f.issuetype?.id || t.name === f.issuetype?.name);
    if (project && !type) errors.issuetype = 'Specify a valid issue type';
    if (typeof f.summary !== 'string' || !f.summary.trim()) errors.summary = 'You must specify a summary of the issue.';
    else if (f.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(f.summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    const descriptionError = f.description === undefined ? undefined : this.richTextError(r.version!, f.description);
    if (descriptionError) errors.description = descriptionError;
    if (f.priority && !this.priorities.some((p) => p.id === f.priority.id || p.name === f.priority.name)) errors.priority = 'The priority selected is invalid.';
    for (const label of f.labels ?? []) if (/\s/.test(label)) errors.labels = `The label '${label}' contains spaces which is invalid.`;
    for (const key of Object.keys(f).filter((k) => k.startsWith('customfield_'))) {
      if (!this.fields.some((x) => x.id === key)) errors[key] = `Field '${key}' cannot be set. It is not on the appropriate screen, or unknown.`;
    }
    if (Object.keys(errors).length) return { status: 400, body: { errorMessages: [], errors } };
    const n = (this.counters.get(project!.key) ?? 0) + 1;
    this.counters.set(project!.key, n);
    const issue: FakeIssue = {
      id: String(this.nextId++), key: `${project!.key}-${n}`, projectKey: project!.key, fields: f,
      status: this.statuses[0].name, comments: [], createdAt: Date.now(), version: r.version!,
    };
    this.issues.set(issue.key, issue);
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${this.url}/rest/api/${r.version}/issue/${issue.id}` } };
  }

  private comment(r: JiraRequest, issue: FakeIssue): FakeReply {
    const error = this.richTextError(r.version!, r.json?.body);
    if (error) return { status: 400, body: { errorMessages: [], errors: { comment: error } } };
    const comment = { id: String(this.nextId++), body: r.json.body, at: Date.now() };
    issue.comments.push(comment);
    return { status: 201, body: { id: comment.id, self: `${this.url}/rest/api/${r.version}/issue/${issue.id}/comment/${comment.id}`, body: comment.body, created: new Date().toISOString() } };
  }

  private transition(r: JiraRequest, issue: FakeIssue): FakeReply {
    const t = this.available(issue).find((x) => x.id === r.json?.transition?.id);
    if (!t) return { status: 400, body: { errorMessages: [`Transition id '${r.json?.transition?.id}' is not valid for this issue.`], errors: {} } };
    issue.status = t.to;
    return { status: 204 };
  }

  private available(issue: FakeIssue): FakeTransition[] {
    return this.transitions.filter((t) => t.from.length === 0 || t.from.includes(issue.status));
  }

  private statusJson(name: string) {
    const s = this.statuses.find((x) => x.name === name) ?? { id: '0', name, category: 'new' as const };
    return { id: s.id, name: s.name, statusCategory: { id: CATEGORY_IDS[s.category], key: s.category, name: CATEGORY_NAMES[s.category] } };
  }

  private transitionJson(t: FakeTransition) {
    return { id: t.id, name: t.name, to: this.statusJson(t.to), hasScreen: false, isGlobal: t.from.length === 0, isInitial: false, isConditional: false };
  }

  /** v3 takes ADF documents, v2 wiki strings; both within 32,767 characters. */
  private richTextError(version: string, value: unknown): string | undefined {
    if (version === '2') {
      if (typeof value !== 'string') return 'Operation value must be a string';
      return value.length > TEXT_LIMIT ? 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.' : undefined;
    }
    if (!isAdfDoc(value)) return 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
    return JSON.stringify(value).length > TEXT_LIMIT ? 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.' : undefined;
  }
}

function types(): FakeProject['issueTypes'] {
  return [
    { id: '10001', name: 'Task', subtask: false },
    { id: '10002', name: 'Bug', subtask: false },
    { id: '10003', name: 'Sub-task', subtask: true },
  ];
}

function ok(body: unknown): FakeReply {
  return { status: 200, body };
}

function notFound(message: string): FakeReply {
  return { status: 404, body: { errorMessages: [message], errors: {} } };
}

/** The ADF the fake accepts: a version-1 doc of paragraphs holding non-empty text runs and hard breaks. */
export function isAdfDoc(value: any): boolean {
  if (value?.type !== 'doc' || value.version !== 1 || !Array.isArray(value.content)) return false;
  return value.content.every(
    (para: any) =>
      para?.type === 'paragraph' &&
      Array.isArray(para.content) &&
      para.content.every((n: any) => n?.type === 'hardBreak' || (n?.type === 'text' && typeof n.text === 'string' && n.text.length > 0)),
  );
}

/** The plain text of an ADF document or wiki string, for assertions. */
export function plainText(value: any): string {
  if (typeof value === 'string') return value;
  return (value?.content ?? [])
    .map((para: any) => (para.content ?? []).map((n: any) => (n.type === 'hardBreak' ? '\n' : n.text)).join(''))
    .join('\n\n');
}
