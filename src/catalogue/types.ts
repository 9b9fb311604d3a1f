/**
 * One entry of the event catalogue (docs/API.md "Event catalogue").
 * `id` is fully qualified, `<owner>.<name>`; `owner` is the part before the first dot.
 */
export interface EventTypeDefinition {
  id: string;
  owner: string;
  displayName: string;
  description: string;
  category?: string;
  /** JSON Schema draft 2020-12 object; ingest validates payloads against it. */
  payloadSchema?: Record<string, unknown>;
  /** Payload field naming the thing the event is about; same owner + same value = follow-up (docs/DESIGN.md 7). */
  subjectKey?: string;
  /** This event ends its subject (resolved, completed, healthy again): providers close the external record. */
  resolves?: boolean;
  /** A payload that validates against `payloadSchema`; used for test sends and template previews. */
  example?: Record<string, unknown>;
}

/** `<owner>.<name>`: lower-case segments of letters, digits, `-` and `_`, at least two segments. */
export const EVENT_ID_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/;

/** The owner of an event id: the part before the first dot (`healthcheck.system.degraded` -> `healthcheck`). */
export function ownerOfEventId(id: string): string {
  const dot = id.indexOf('.');
  return dot === -1 ? id : id.slice(0, dot);
}
