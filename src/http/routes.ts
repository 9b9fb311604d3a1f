import express, { type Request, type Response, Router } from 'express';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Role } from '../../entities/api-token.entity';
import { readCookie, SESSION_COOKIE, sameSecret, type SessionStore } from '../auth/sessions';
import type { AuthContext, TokenStore } from '../auth/tokens';
import { HttpProblem } from './problem';
import { inRequestSpan } from '../telemetry/request-span';
import { parseOr400, rejectUnstorable } from './validation';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a handler returns: a status, an optional JSON body and headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
  /** For streaming responses (server-sent events): takes over the response instead of a JSON body. */
  stream?: (res: Response) => void;
}

/** An OpenAPI link from an answer to another operation of the API. */
export interface RouteLink {
  /** `<method> <express path>` of the linked operation, e.g. `get /subscriptions/:id`. */
  operation: string;
  /** The linked operation's parameters, as OpenAPI runtime expressions. */
  parameters: Record<string, string>;
}

/** The parsed, validated inputs of one request. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  auth: AuthContext;
  req: Request;
}

/** One API operation: the schemas validate requests and generate the OpenAPI document. */
export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: Method;
  /** Express-style path under /api/v1, e.g. `/subscriptions/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed to call; `public` routes take no token. */
  roles: Role[] | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /**
   * Response schemas by status, for the OpenAPI document. `links`: operations that take a value of this answer
   * (OpenAPI links, for clients and stateful fuzzing): link name -> the operation (`'get /subscriptions/:id'`)
   * and its parameters as runtime expressions (`{ id: '$response.body#/id' }`).
   */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; links?: Record<string, RouteLink> }>;
  /** Body parser limit for this route in bytes, when it differs from the default. */
  bodyLimitBytes?: number;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<Reply>;
}

const PROBLEM_SCHEMA = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

/** Collects routes, mounts them with auth and validation, and describes them as OpenAPI 3.1. */
export class ApiRoutes {
  private readonly specs: RouteSpec[] = [];

  constructor(
    private readonly tokens: TokenStore,
    private readonly defaultBodyLimitBytes: number,
    /** Admin UI sessions: a session cookie stands in for a bearer token (with a CSRF token on writes). */
    private readonly sessions?: SessionStore,
  ) {}

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): void {
    this.specs.push(spec as unknown as RouteSpec);
  }

  /** An Express router serving every added route. */
  router(): Router {
    const router = Router();
    for (const spec of this.specs) {
      const parse = express.json({ limit: spec.bodyLimitBytes ?? this.defaultBodyLimitBytes, strict: false });
      router[spec.method](spec.path, (req, res, next) => this.authenticate(spec, req, res).then(() => next(), next), parse, async (req: Request, res: Response) => {
        // what PostgreSQL or JSON cannot keep as sent (NUL, lone surrogates, 1e400, __proto__, deep nesting):
        // refused here for every route at once, before anything walks the value recursively
        rejectUnstorable(req.params, 'path');
        rejectUnstorable(req.query, 'query');
        rejectUnstorable(req.body, 'body');
        const input = {
          params: spec.params ? parseOr400(spec.params, req.params, 'path') : req.params,
          query: spec.query ? parseOr400(spec.query, req.query, 'query') : {},
          body: spec.body ? parseOr400(spec.body, req.body, 'body') : undefined,
          auth: res.locals.auth as AuthContext,
          req,
        };
        const reply = await inRequestSpan(req.headers, `${spec.method.toUpperCase()} ${spec.path}`, () => spec.handler(input));
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
        if (reply.stream) reply.stream(res);
        else if (reply.body === undefined) res.status(reply.status).end();
        else res.status(reply.status).json(reply.body);
      });
    }
    return router;
  }

  private async authenticate(spec: RouteSpec, req: Request, res: Response): Promise<void> {
    if (spec.roles === 'public') return;
    const auth = await this.caller(req);
    if (!spec.roles.includes(auth.role)) {
      throw new HttpProblem(403, 'Forbidden', `Role ${auth.role} may not ${spec.method.toUpperCase()} ${spec.path}`);
    }
    res.locals.auth = auth;
  }

  /** The caller: a bearer token if one is sent, else an admin UI session cookie (writes need its CSRF token). */
  private async caller(req: Request): Promise<AuthContext> {
    const header = req.headers.authorization;
    const cookie = this.sessions && !header ? readCookie(req.headers.cookie, SESSION_COOKIE) : undefined;
    if (cookie && this.sessions) {
      const auth = await this.sessions.resolve(cookie);
      if (!auth) throw new HttpProblem(401, 'Unauthorized', 'The session has ended; sign in again', undefined, { 'WWW-Authenticate': 'Bearer' });
      const sent = req.headers['x-csrf-token'];
      if (!['GET', 'HEAD'].includes(req.method) && (typeof sent !== 'string' || !sameSecret(sent, auth.session!.csrfToken))) {
        throw new HttpProblem(403, 'Forbidden', 'A request made with the session cookie must carry its X-CSRF-Token header');
      }
      return auth;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) throw new HttpProblem(401, 'Unauthorized', 'Send Authorization: Bearer <token>', undefined, { 'WWW-Authenticate': 'Bearer' });
    const auth = await this.tokens.resolve(m[1]);
    if (!auth) throw new HttpProblem(401, 'Unauthorized', 'Unknown token', undefined, { 'WWW-Authenticate': 'Bearer' });
    return auth;
  }
  /** Every route as method, path and roles (for tests that walk the API). */
  list(): { method: Method; path: string; roles: Role[] | 'public' }[] {
    return this.specs.map((s) => ({ method: s.method, path: s.path, roles: s.roles }));
  }

  /** OpenAPI link objects; a link to an operation that is not a route is a programming error. */
  private openapiLinks(links: Record<string, RouteLink>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, link] of Object.entries(links)) {
      const [method, path] = link.operation.split(' ');
      if (!this.specs.some((x) => x.method === method && x.path === path)) throw new Error(`OpenAPI link ${name}: no route ${link.operation}`);
      const pointer = path.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/~/g, '~0').replace(/\//g, '~1');
      out[name] = { operationRef: `#/paths/${pointer}/${method}`, parameters: link.parameters };
    }
    return out;
  }

  /** The OpenAPI 3.1 document, generated from the same schemas that validate requests. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const components: Record<string, unknown> = {};
    jsonSchema(PROBLEM_SCHEMA, 'output', components); // registers components.Problem
    for (const s of this.specs) {
      const path = s.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const parameters = [
        ...objectParams(s.params, 'path', components),
        ...objectParams(s.query, 'query', components),
      ];
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(s.responses)) {
        const type = r.contentType ?? 'application/json';
        responses[status] = r.schema
          ? { description: r.description, content: { [type]: { schema: jsonSchema(r.schema, 'output', components) } } }
          : Number(status) >= 400
            ? { description: r.description, content: PROBLEM_CONTENT }
            : r.contentType
              ? { description: r.description, content: { [type]: { schema: { type: 'string' } } } }
              : { description: r.description };
        if (r.links) (responses[status] as Record<string, unknown>).links = this.openapiLinks(r.links);
      }
      responses.default = { description: 'Error', content: PROBLEM_CONTENT };
      paths[path] ??= {};
      paths[path][s.method] = {
        summary: s.summary,
        tags: [s.tag],
        ...(s.roles === 'public' ? { security: [] } : { 'x-roles': s.roles }),
        ...(parameters.length ? { parameters } : {}),
        ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(s.body, 'input', components) } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      servers: [{ url: '/api/v1' }],
      security: [{ bearer: [] }, { session: [] }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: {
            type: 'apiKey', in: 'cookie', name: SESSION_COOKIE,
            description: 'Admin UI session from POST /session; requests other than GET also send its csrfToken as X-CSRF-Token.',
          },
        },
        schemas: components,
      },
      paths,
    };
  }
}

/**
 * The JSON Schema of `schema` for the document. Named schemas (`.meta({ id })`) that zod puts in `$defs`
 * move to `components` and are referenced there: inside an OpenAPI document `#/$defs/X` would resolve
 * against the document's root, where there is no `$defs`.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, unknown>): Record<string, unknown> {
  let s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete s.$schema;
  const defs = (s.$defs ?? {}) as Record<string, Record<string, unknown>>;
  delete s.$defs;
  // zod writes a schema's `.meta({ id })` as an `id` member, which is no JSON Schema keyword: a named
  // schema becomes a component, the top-level one included
  for (const def of Object.values(defs)) delete def.id;
  if (typeof s.id === 'string') {
    const { id, ...rest } = s;
    defs[id as string] = rest;
    s = { $ref: `#/$defs/${id as string}` };
  }
  const target = new Map(Object.keys(defs).map((name) => [name, name]));
  const refsTo = () => new Map([...target].map(([name, to]) => [`#/$defs/${name}`, `#/components/schemas/${to}`]));
  const plain = refsTo();
  for (const name of Object.keys(defs)) {
    // the input and output forms of one named schema may differ (defaults, transforms): keep both
    const existing = components[name];
    if (existing !== undefined && !isDeepStrictEqual(existing, withRefs(defs[name], plain))) target.set(name, `${name}${io === 'input' ? 'Input' : 'Output'}`);
  }
  const refs = refsTo();
  for (const [name, def] of Object.entries(defs)) components[target.get(name)!] = withRefs(def, refs);
  return withRefs(s, refs) as Record<string, unknown>;
}

/** A copy of `node` with each `$ref` found in `refs` replaced. */
function withRefs(node: unknown, refs: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => withRefs(n, refs));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? (refs.get(v) ?? v) : withRefs(v, refs)]),
  );
}

function objectParams(schema: z.ZodType | undefined, where: 'path' | 'query', components: Record<string, unknown>): Record<string, unknown>[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input', components) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}
