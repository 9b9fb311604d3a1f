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
