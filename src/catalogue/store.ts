import type { DataSource } from 'typeorm';
import { EventTypeEntity } from '../../entities/event-type.entity';
import { BUILTIN_EVENT_TYPES } from './builtin';

/** Ids of the event types the hub ships (read-only to ingest tokens, whatever a row says). */
export const BUILTIN_EVENT_IDS: ReadonlySet<string> = new Set(BUILTIN_EVENT_TYPES.map((e) => e.id));
import type { EventTypeDefinition } from './types';
import type { EventTypeInput } from './validate';
import { ownerOfEventId } from './types';

/** Advisory lock held while the built-ins are written: two APIs starting together on a new database would both insert. */
const SEED_LOCK_ID = 7_240_612;

/** How long a looked-up event type is reused by ingest before it is read again (ms). */
const CACHE_TTL_MS = 5_000;

/** The event catalogue in PostgreSQL, with a short cache for the ingest path. */
export class EventCatalogue {
  private readonly cache = new Map<string, { at: number; value: EventTypeDefinition | undefined }>();

  constructor(private readonly dataSource: DataSource) {}

  /** Writes the built-in event types; a domain service's own changes to them are kept. */
  async seedBuiltins(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_ID]);
      const repo = manager.getRepository(EventTypeEntity);
      for (const e of BUILTIN_EVENT_TYPES) {
        const existing = await repo.findOneBy({ id: e.id });
        if (existing && !existing.builtin) continue;
        await repo.save({ ...toRow(e), builtin: true });
      }
    });
  }

  /** The event type, or undefined when it is not in the catalogue. */
  async get(id: string): Promise<EventTypeDefinition | undefined> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value;
    const row = await this.dataSource.getRepository(EventTypeEntity).findOneBy({ id });
    const value = row ? fromRow(row) : undefined;
    this.cache.set(id, { at: Date.now(), value });
    return value;
  }

  async list(): Promise<EventTypeDefinition[]> {
    const rows = await this.dataSource.getRepository(EventTypeEntity).find({ order: { id: 'ASC' } });
    return rows.map(fromRow);
  }

  /** Who registered an event type (an API token id, null when unknown), or undefined when it does not exist. */
  async registration(id: string): Promise<{ registeredBy: string | null } | undefined> {
    const row = await this.dataSource.getRepository(EventTypeEntity).findOne({ where: { id }, select: { id: true, registeredBy: true } });
    return row ? { registeredBy: row.registeredBy } : undefined;
  }

  /**
   * Creates or replaces a domain service's event type; returns it and whether it was new. `registeredBy` (the
   * caller's token id) is kept from the first registration on.
   */
  async put(id: string, input: EventTypeInput, registeredBy: string): Promise<{ value: EventTypeDefinition; created: boolean }> {
    const repo = this.dataSource.getRepository(EventTypeEntity);
    const created = !(await repo.existsBy({ id }));
    const def: EventTypeDefinition = { id, owner: ownerOfEventId(id), ...input };
    await repo.save({ ...toRow(def), builtin: false, ...(created ? { registeredBy } : {}) });
    this.cache.delete(id);
    return { value: def, created };
  }
}

function toRow(e: EventTypeDefinition): Omit<EventTypeEntity, 'createdAt' | 'updatedAt' | 'builtin' | 'registeredBy'> {
  return {
    id: e.id,
    owner: e.owner,
    displayName: e.displayName,
    description: e.description,
    category: e.category ?? null,
    payloadSchema: e.payloadSchema ?? null,
    subjectKey: e.subjectKey ?? null,
    example: e.example ?? null,
    resolves: e.resolves ?? false,
  };
}

function fromRow(r: EventTypeEntity): EventTypeDefinition {
  return {
    id: r.id,
    owner: r.owner,
    displayName: r.displayName,
    description: r.description,
    ...(r.category ? { category: r.category } : {}),
    ...(r.payloadSchema ? { payloadSchema: r.payloadSchema } : {}),
    ...(r.subjectKey ? { subjectKey: r.subjectKey } : {}),
    ...(r.example ? { example: r.example } : {}),
    ...(r.resolves ? { resolves: true } : {}),
  };
}
