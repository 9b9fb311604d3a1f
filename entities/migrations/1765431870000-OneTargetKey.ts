import type { MigrationInterface, QueryRunner } from 'typeorm';

/** SQL twin of boundedTargetKey (src/targets/key.ts): the first 483 characters, `#`, 16 hex of the key's SHA-256. */
const bounded = (column: string) => `left(${column}, 483) || '#' || left(encode(sha256(convert_to(${column}, 'UTF8')), 'hex'), 16)`;

/**
 * One target key (issue 21): circuits, rate limits and `GET /targets` now share src/targets/key.ts, whose keys
 * are at most 500 characters (the target_limits column). Target health stored keys up to 512: the longer
 * ones are rewritten to their bounded form in target_health, target_outcomes and subscriptions.target_key
 * (a target_health row whose bounded key already exists gives way to it). target_limits keys stay as they
 * are: every key the old rate-limit function wrote that the new function still names (URL origins, follow-up
 * targets up to 500 characters) is unchanged, and incoming-webhook targets (Slack, Teams, Google Chat) never
 * had a rate-limit row before (their limits never applied: the bug this fixes), so a limit an operator set on
 * one of their keys from `GET /targets` applies from now on without a rewrite.
 * Safe while old workers run: they write unbounded keys up to 512 characters, which the columns still take.
 */
export class OneTargetKey1765431870000 implements MigrationInterface {
  name = 'OneTargetKey1765431870000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `DELETE FROM target_health t
        WHERE char_length(t.target_key) > 500
          AND EXISTS (SELECT 1 FROM target_health o WHERE o.target_key = ${bounded('t.target_key')})`,
    );
    for (const table of ['target_health', 'target_outcomes', 'subscriptions']) {
      await q.query(`UPDATE ${table} SET target_key = ${bounded('target_key')} WHERE char_length(target_key) > 500`);
    }
  }

  async down(): Promise<void> {
    // bounded keys are valid keys for the code before this migration too: nothing to undo
  }
}
