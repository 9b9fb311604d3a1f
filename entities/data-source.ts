import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ApiTokenEntity } from './api-token.entity';
import { DeliveryAttemptEntity } from './delivery-attempt.entity';
import { DeliveryEntity } from './delivery.entity';
import { EmissionEntity } from './emission.entity';
import { EventTypeEntity } from './event-type.entity';
import { SubscriptionEntity } from './subscription.entity';
import { CoreSchema1764200000000 } from './migrations/1764200000000-CoreSchema';
import { ConnectionsAndFollowUps1764300000000 } from './migrations/1764300000000-ConnectionsAndFollowUps';
import { ConnectionEntity } from './connection.entity';
import { ProviderSettingEntity } from './provider-setting.entity';
import { ProviderSettings1764400000000 } from './migrations/1764400000000-ProviderSettings';
import { ExternalRecordEntity } from './external-record.entity';
import { Recoveries1764600000000 } from './migrations/1764600000000-Recoveries';
import { UiSessionsAndDeliveryNotify1764700000000 } from './migrations/1764700000000-UiSessionsAndDeliveryNotify';
import { PluginEntity } from './plugin.entity';
import { Plugins1764800000000 } from './migrations/1764800000000-Plugins';
import { Replays1765200000000 } from './migrations/1765200000000-Replays';
import { TargetLimits1765000000000 } from './migrations/1765000000000-TargetLimits';
import { TargetHealth1764900000000 } from './migrations/1764900000000-TargetHealth';
import { Retention1765100000000 } from './migrations/1765100000000-Retention';
import { OrderedLanes1765300000000 } from './migrations/1765300000000-OrderedLanes';
import { EventTypeRegisteredBy1765310000000 } from './migrations/1765310000000-EventTypeRegisteredBy';
import { OneTargetKey1765431870000 } from './migrations/1765431870000-OneTargetKey';
import { PluginDisabled1765437210000 } from './migrations/1765437210000-PluginDisabled';
import { TargetChangeNotify1765437220000 } from './migrations/1765437220000-TargetChangeNotify';
import { AttemptExchanges1765468300000 } from './migrations/1765468300000-AttemptExchanges';
import { PayloadOnEmission1765531407000 } from './migrations/1765531407000-PayloadOnEmission';
import { AttemptMarks1765541730000 } from './migrations/1765541730000-AttemptMarks';
import { LiveWatchers1765600000000 } from './migrations/1765600000000-LiveWatchers';

const ENTITIES = [
  EventTypeEntity,
  EmissionEntity,
  SubscriptionEntity,
  DeliveryEntity,
  DeliveryAttemptEntity,
  ApiTokenEntity,
  ConnectionEntity,
  ExternalRecordEntity,
  ProviderSettingEntity,
  PluginEntity,
];

/** Migrations in the order they apply. Schema changes go here, never through `synchronize`. */
export const MIGRATIONS = [
  CoreSchema1764200000000,
  ConnectionsAndFollowUps1764300000000,
  ProviderSettings1764400000000,
  Recoveries1764600000000,
  UiSessionsAndDeliveryNotify1764700000000,
  Plugins1764800000000,
  TargetHealth1764900000000,
  TargetLimits1765000000000,
  Retention1765100000000,
  Replays1765200000000,
  OrderedLanes1765300000000,
  EventTypeRegisteredBy1765310000000,
  OneTargetKey1765431870000,
  PluginDisabled1765437210000,
  TargetChangeNotify1765437220000,
  AttemptExchanges1765468300000,
  PayloadOnEmission1765531407000,
  AttemptMarks1765541730000,
  LiveWatchers1765600000000,
];

/** A data source for the given PostgreSQL URL; call initialize() and runMigrations() yourself. */
export function createDataSource(url: string, options: { poolSize?: number; applicationName?: string } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? 'integrations-hub',
    // fail fast when the database is down instead of hanging requests
    connectTimeoutMS: 5000,
    extra: { connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 },
  });
}
