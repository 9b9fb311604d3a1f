import assert from 'node:assert/strict';
import { classifyJiraResponse, jiraErrorDetails, rateLimitResetMs, type JiraErrorContext } from '../../providers/jira/errors';
import type { OutboundResponse } from '../../providers/types';

const TOKEN = 'cloud-api-token-8d1f5e0c7a93b2';
const NOW = Date.parse('2026-03-05T14:29:30Z');
const CREATE: JiraErrorContext = { operation: 'creating an issue in OPS', projectKey: 'OPS', flavor: 'cloud', secrets: [TOKEN], nowMs: NOW };
const COMMENT: JiraErrorContext = { operation: 'commenting on OPS-1', flavor: 'datacenter', secrets: [TOKEN], nowMs: NOW };

function res(status: number, body: unknown = '', headers: Record<string, string> = {}): OutboundResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), durationMs: 5 };
}

describe('jira error classification', () => {
  it('treats 2xx as success', () => {
    assert.deepEqual(classifyJiraResponse(res(201, { key: 'OPS-1' }), CREATE), { kind: 'success', httpStatus: 201 });
  });

  it('pauses on 401, naming the credentials of the flavor', () => {
    const cloud = classifyJiraResponse(res(401, 'Client must be authenticated to access this resource.'), CREATE);
    assert.equal(cloud.kind, 'permanent');
    assert.ok(cloud.kind === 'permanent' && cloud.pauseReason);
    assert.match(cloud.pauseReason!, /^Jira rejected the credentials .*email and API token/);
    assert.match(cloud.error, /^Jira answered 401 creating an issue in OPS: Client must be authenticated/);
    const dc = classifyJiraResponse(res(401, { errorMessages: ['You are not authenticated.'], errors: {} }), COMMENT);
    assert.match(dc.kind === 'permanent' ? dc.pauseReason! : '', /personal access token/);
  });

  it('makes 403 permanent and readable without pausing, but pauses for a CAPTCHA lock-out', () => {
    const forbidden = classifyJiraResponse(res(403, { errorMessages: ['You do not have permission to create issues in this project.'], errors: {} }), CREATE);
    assert.equal(forbidden.kind, 'permanent');
    assert.equal(forbidden.kind === 'permanent' && forbidden.pauseReason, undefined);
    assert.match(forbidden.kind === 'permanent' ? forbidden.error : '', /403 creating an issue in OPS: You do not have permission .* \(the account lacks permission\)/);
    const captcha = classifyJiraResponse(res(403, '', { 'x-seraph-loginreason': 'AUTHENTICATION_DENIED' }), CREATE);
    assert.match(captcha.kind === 'permanent' ? captcha.pauseReason! : '', /CAPTCHA/);
  });

  it('summarises 400 field errors and does not pause for them', () => {
    const out = classifyJiraResponse(res(400, { errorMessages: [], errors: { priority: 'The priority selected is invalid.', labels: 'bad' } }), CREATE);
    assert.deepEqual(out, {
      kind: 'permanent',
      httpStatus: 400,
      errorCode: 'jira_rejected',
      error: 'Jira answered 400 creating an issue in OPS: priority: The priority selected is invalid.; labels: bad',
    });
  });

  it('pauses when creating in a project that does not exist (400 on project, or 404)', () => {
    const missing = classifyJiraResponse(res(400, { errorMessages: [], errors: { project: 'valid project is required' } }), CREATE);
    assert.match(missing.kind === 'permanent' ? missing.pauseReason! : '', /^Jira project OPS does not exist or the account cannot see it/);
    const notFound = classifyJiraResponse(res(404, '<html>nope</html>'), CREATE);
    assert.match(notFound.kind === 'permanent' ? notFound.pauseReason! : '', /404 creating an issue in OPS: the project or the site's base URL/);
    // a 400 about the project while commenting is not about a project being gone
    const other = classifyJiraResponse(res(400, { errors: { project: 'x' } }), COMMENT);
    assert.equal(other.kind === 'permanent' && other.pauseReason, undefined);
  });

  it('keeps 413 permanent', () => {
    assert.equal(classifyJiraResponse(res(413, 'too large'), COMMENT).kind, 'permanent');
  });

  it('retries 429 after Retry-After, or else until X-RateLimit-Reset, naming the limit', () => {
    const withHint = classifyJiraResponse(res(429, '', { 'retry-after': '7', 'ratelimit-reason': 'jira-burst-based' }), CREATE);
    assert.deepEqual(withHint, {
      kind: 'retryable',
      httpStatus: 429,
      errorCode: 'jira_rate_limited',
      error: 'Jira rate limit reached creating an issue in OPS (jira-burst-based): no body',
      retryAfterMs: 7000,
    });
    const withReset = classifyJiraResponse(res(429, '', { 'x-ratelimit-reset': '2026-03-05T14:31Z' }), CREATE);
    assert.equal(withReset.kind === 'retryable' && withReset.retryAfterMs, 90_000);
    const neither = classifyJiraResponse(res(429, ''), CREATE);
    assert.equal(neither.kind, 'retryable');
    assert.equal(neither.kind === 'retryable' && neither.retryAfterMs, undefined);
  });

  it('retries 5xx, honouring a Retry-After on 503', () => {
    const unavailable = classifyJiraResponse(res(503, 'down', { 'retry-after': '3' }), COMMENT);
    assert.equal(unavailable.kind, 'retryable');
    assert.equal(unavailable.kind === 'retryable' && unavailable.retryAfterMs, 3000);
    assert.equal(classifyJiraResponse(res(500, { errorMessages: ['Internal server error'] }), COMMENT).kind, 'retryable');
  });

  it('masks the credentials when Jira echoes them', () => {
    const basic = Buffer.from(`ada@example.com:${TOKEN}`).toString('base64');
    const out = classifyJiraResponse(res(400, { errorMessages: [`token ${TOKEN} header Basic ${basic}`] }), { ...CREATE, secrets: [TOKEN, basic] });
    assert.ok(out.kind === 'permanent');
    assert.ok(!out.error.includes(TOKEN) && !out.error.includes(basic), out.error);
  });

  it('reads ErrorCollections and reset times defensively', () => {
    assert.equal(jiraErrorDetails('not json'), undefined);
    assert.equal(jiraErrorDetails({ errorMessages: ['a', ''], errors: { f: 'b', g: 3 } }), 'a; f: b');
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, 'x']));
    assert.match(jiraErrorDetails({ errors: many })!, /; and 4 more$/);
    assert.equal(rateLimitResetMs('2026-03-05T14:00Z', NOW), undefined, 'past');
    assert.equal(rateLimitResetMs('soon', NOW), undefined);
  });
});
