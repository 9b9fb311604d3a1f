import { z } from 'zod';

/** Path parameter `{id}`. */
export const idParams = z.object({ id: z.string().min(1).max(300) });

/** `?limit=&cursor=` of every list. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
};

/** A list response: `{items, nextCursor}`. */
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const anyObject = z.record(z.string(), z.unknown());

/**
 * An ISO-8601 time with an offset, read as the instant it names and normalised to UTC. PostgreSQL takes
 * offsets up to ±15:59 and no year 0, so an odd but valid input (`-20:21`) must not reach it as written.
 */
export const isoTime = z.iso.datetime({ offset: true }).transform((value, ctx) => {
  const at = new Date(value);
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1) {
    ctx.addIssue({ code: 'custom', message: 'must be a time in year 1 or later' });
    return z.NEVER;
  }
  return at.toISOString();
});

/** The answers of a route that waits on Temporal with a deadline (src/temporal/deadline.ts), for the OpenAPI document. */
/** The answer of a background job (recovery, replay) beyond BACKGROUND_MAX_JOBS. */
export const backgroundJobLimitResponses = {
  409: { description: 'BACKGROUND_MAX_JOBS recoveries and replays are running already; nothing was started. Ask again after Retry-After' },
};

export const temporalDeadlineResponses = {
  503: { description: 'Temporal is unreachable; nothing was done. Try again after Retry-After' },
  504: { description: 'Temporal did not answer within TEMPORAL_REQUEST_TIMEOUT_MS; what was asked may still take effect. See Retry-After' },
};
