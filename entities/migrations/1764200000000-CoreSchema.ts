import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Catalogue, emissions, subscriptions, deliveries with their attempt log, and API tokens. */
export class CoreSchema1764200000000 implements MigrationInterface {
  name = 'CoreSchema1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_types (
        id varchar(200) PRIMARY KEY,
        owner varchar(100) NOT NULL,
        display_name varchar(200) NOT NULL,
        description text NOT NULL DEFAULT '',
        category varchar(100),
        payload_schema jsonb,
        subject_key varchar(200),
        example jsonb,
        builtin boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE emissions (
        id varchar(200) PRIMARY KEY,
        event varchar(200) NOT NULL,
        occurred_at timestamptz NOT NULL,
        system_ids text[] NOT NULL DEFAULT '{}',
        payload jsonb NOT NULL,
        test boolean NOT NULL DEFAULT false,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE subscriptions (
        id varchar(64) PRIMARY KEY,
        name varchar(200) NOT NULL,
        description text,
        provider varchar(100) NOT NULL,
        connection_id varchar(64),
        config jsonb NOT NULL,
        event varchar(200) NOT NULL,
        system_ids text[] NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        retry_policy jsonb,
        paused_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX subscriptions_event_enabled ON subscriptions (event, enabled)`);
    await q.query(`
      CREATE TABLE deliveries (
        id varchar(64) PRIMARY KEY,
        subscription_id varchar(64) NOT NULL,
        provider varchar(100) NOT NULL,
        event varchar(200) NOT NULL,
        emission_id varchar(200) NOT NULL REFERENCES emissions(id),
        system_ids text[] NOT NULL DEFAULT '{}',
        payload jsonb NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('pending','retrying','success','failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_attempt_at timestamptz,
        next_retry_at timestamptz,
        external_id text,
        error text,
        workflow_id varchar(300) NOT NULL,
        workflow_started boolean NOT NULL DEFAULT false,
        test boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT deliveries_emission_subscription UNIQUE (emission_id, subscription_id)
      )`);
    // Keyset pagination, newest first, one index per filter of the delivery log.
    await q.query(`CREATE INDEX deliveries_created ON deliveries (created_at DESC, id DESC)`);
    for (const col of ['status', 'subscription_id', 'event', 'provider']) {
      await q.query(`CREATE INDEX deliveries_${col}_created ON deliveries (${col}, created_at DESC, id DESC)`);
    }
    await q.query(`CREATE INDEX deliveries_system_ids ON deliveries USING gin (system_ids)`);
    await q.query(`CREATE INDEX deliveries_unstarted ON deliveries (created_at) WHERE workflow_started = false`);
    await q.query(`
      CREATE TABLE delivery_attempts (
        id bigserial PRIMARY KEY,
        delivery_id varchar(64) NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        started_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        outcome varchar(16) NOT NULL CHECK (outcome IN ('success','retryable','permanent')),
        http_status integer,
        error_code varchar(100),
        error text,
        trigger varchar(16) NOT NULL CHECK (trigger IN ('scheduled','manual')),
        CONSTRAINT delivery_attempts_delivery_attempt UNIQUE (delivery_id, attempt)
      )`);
    await q.query(`
      CREATE TABLE api_tokens (
        id varchar(64) PRIMARY KEY,
        name varchar(200) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('admin','manager','viewer','ingest')),
        owners text[] NOT NULL DEFAULT '{}',
        token_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['api_tokens', 'delivery_attempts', 'deliveries', 'subscriptions', 'emissions', 'event_types']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
