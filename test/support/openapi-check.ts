import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/*
 * Checks an answer of the API against the OpenAPI document it serves (GET /api/v1/openapi.json): the
 * route and method must be in the document, the status must be listed for it (an error status may fall
 * to `default`), the content type must be one documented for that status, and the body must match that
 * content's schema. The test hub runs every response through it, so the document and the answers agree.
 */

type Json = Record<string, any>;

/** One answer as a test saw it. */
export interface CapturedResponse {
  method: string;
  /** The request path below the document's server URL (`/subscriptions/sub_1?limit=2`). */
  path: string;
  status: number;
  contentType: string | null;
  /** The parsed JSON body, or undefined when the body was empty. */
  body: unknown;
}

const COMPONENTS_ID = 'openapi-components';

/** Rewrites `#/components/schemas/X` to point into the components schema registered with Ajv. */
function withComponentRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withComponentRefs);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}` : withComponentRefs(v),
    ]),
  );
}

interface Route {
  template: string;
  pattern: RegExp;
  literals: number;
}

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: Route[];

  constructor(private readonly doc: Json) {
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: withComponentRefs(doc.components?.schemas ?? {}) as Json });
    this.routes = Object.keys(doc.paths ?? {}).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
      literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    }));
  }

  /** What is wrong with `res` according to the document; empty when it conforms. */
  problems(res: CapturedResponse): string[] {
    const what = `${res.method.toUpperCase()} ${res.path} -> ${res.status}`;
    const path = res.path.split('?')[0];
    // a literal segment beats a parameter: /deliveries/stats before /deliveries/{id}
    const route = this.routes.filter((r) => r.pattern.test(path) && this.doc.paths[r.template][res.method.toLowerCase()]).sort((a, b) => b.literals - a.literals)[0];
    if (!route) return [`${what}: the document has no ${res.method.toUpperCase()} operation for this path`];
    const operation = this.doc.paths[route.template][res.method.toLowerCase()] as Json;
    const at = `paths["${route.template}"].${res.method.toLowerCase()}.responses`;
    let key = String(res.status);
    if (!operation.responses?.[key]) {
      if (res.status >= 400 && operation.responses?.default) key = 'default';
      else return [`${what}: status ${res.status} is not documented (${at} has ${Object.keys(operation.responses ?? {}).join(', ')})`];
    }
    const response = operation.responses[key] as Json;
    const content = (response.content ?? {}) as Record<string, Json>;
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      return res.body === undefined ? [] : [`${what}: ${at}.${key} documents no body, but one came: ${JSON.stringify(res.body).slice(0, 200)}`];
    }
    const type = (res.contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!mediaTypes.includes(type)) return [`${what}: content type "${type}" is not one of ${mediaTypes.join(', ')} documented at ${at}.${key}`];
    const schema = content[type].schema;
    if (!schema) return [];
    const id = `${route.template} ${res.method.toLowerCase()} ${key} ${type}`;
    let validate = this.validators.get(id);
    if (!validate) {
      validate = this.ajv.compile(withComponentRefs(schema) as Json);
      this.validators.set(id, validate);
    }
    if (validate(res.body)) return [];
    return (validate.errors ?? []).slice(0, 10).map((e) => `${what}: body${e.instancePath} ${e.message} ${JSON.stringify(e.params)} (schema ${e.schemaPath} of ${at}.${key})`);
  }
}
