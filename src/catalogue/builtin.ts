import { ownerOfEventId, type EventTypeDefinition } from './types';

// Small JSON Schema fragments; the catalogue is data, these only keep it readable.
type Schema = Record<string, unknown>;
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const id = (description: string): Schema => str(description, { minLength: 1 });
const dateTime = (description: string): Schema => str(description, { format: 'date-time' });
const uri = (description: string): Schema => str(description, { format: 'uri' });
const oneOf = (description: string, values: string[]): Schema => ({ type: 'string', enum: values, description });
const systemIds: Schema = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description: 'Systems the event is about; subscriptions filter on these.',
};

/** Top level stays open: domain services add fields over time and ingest must not reject them. */
function payload(properties: Schema, required: string[]): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties,
    required,
    additionalProperties: true,
  };
}

const SEVERITIES = ['critical', 'major', 'minor', 'info'];
const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'];
const MAINTENANCE_STATUSES = ['scheduled', 'in_progress', 'completed', 'cancelled'];
const HEALTH_STATES = ['healthy', 'degraded', 'unhealthy'];

const incident: Schema = {
  incidentId: id('Incident id; the subject of follow-up events.'),
  title: id('Short summary shown in notifications.'),
  description: str('Longer description (Markdown allowed).'),
  severity: oneOf('Impact of the incident.', SEVERITIES),
  status: oneOf('Lifecycle state of the incident.', INCIDENT_STATUSES),
  systemIds,
  url: uri('Link to the incident in the status platform.'),
  createdAt: dateTime('When the incident was opened.'),
  updatedAt: dateTime('When the incident last changed.'),
};

const maintenance: Schema = {
  maintenanceId: id('Maintenance id; the subject of follow-up events.'),
  title: id('Short summary shown in notifications.'),
  description: str('What will be done and what users will notice.'),
  status: oneOf('Lifecycle state of the maintenance window.', MAINTENANCE_STATUSES),
  systemIds,
  startsAt: dateTime('Planned start of the window.'),
  endsAt: dateTime('Planned end of the window.'),
  url: uri('Link to the maintenance in the status platform.'),
  createdAt: dateTime('When the maintenance was scheduled.'),
  updatedAt: dateTime('When the maintenance last changed.'),
};

const healthcheck: Schema = {
  systemId: id('The system whose health changed; the subject of follow-up events.'),
  systemName: str('Human-readable system name.'),
  previousState: oneOf('State before this change.', HEALTH_STATES),
  state: oneOf('State after this change.', HEALTH_STATES),
  checkName: str('The check that caused the change, when one did.'),
  message: str('Check output or reason for the change.'),
  healthyChecks: { type: 'integer', minimum: 0, description: 'Checks currently passing.' },
  totalChecks: { type: 'integer', minimum: 0, description: 'Checks configured for the system.' },
  url: uri('Link to the system in the status platform.'),
  occurredAt: dateTime('When the state changed.'),
};

const incidentExample = {
  incidentId: 'inc_8f2c1a',
  title: 'Checkout API returning 502s',
  description: 'Error rate on checkout-api rose above 20% after the 14:00 deploy.',
  severity: 'major',
  status: 'investigating',
  systemIds: ['sys-checkout-api', 'sys-payments'],
  url: 'https://status.example.com/incidents/inc_8f2c1a',
  createdAt: '2025-03-04T14:07:12Z',
  updatedAt: '2025-03-04T14:07:12Z',
};

const maintenanceExample = {
  maintenanceId: 'mnt_41b9e0',
  title: 'Database failover test',
  description: 'Primary database fails over to the replica; writes pause for up to 2 minutes.',
  status: 'scheduled',
  systemIds: ['sys-postgres-main'],
  startsAt: '2025-03-08T02:00:00Z',
  endsAt: '2025-03-08T03:00:00Z',
  url: 'https://status.example.com/maintenance/mnt_41b9e0',
  createdAt: '2025-03-01T09:30:00Z',
  updatedAt: '2025-03-01T09:30:00Z',
};

const healthExample = {
  systemId: 'sys-checkout-api',
  systemName: 'Checkout API',
  checkName: 'http-200-on-/health',
  healthyChecks: 2,
  totalChecks: 3,
  url: 'https://status.example.com/systems/sys-checkout-api',
  occurredAt: '2025-03-04T14:05:41Z',
};

type Entry = Omit<EventTypeDefinition, 'owner'>;

const entries: Entry[] = [
  {
    id: 'incident.created',
    displayName: 'Incident created',
    description: 'An incident was opened.',
    category: 'Incidents',
    subjectKey: 'incidentId',
    payloadSchema: payload(incident, ['incidentId', 'title', 'severity']),
    example: incidentExample,
  },
  {
    id: 'incident.updated',
    displayName: 'Incident updated',
    description: 'An incident changed: a status update was posted, or its status, severity or systems changed.',
    category: 'Incidents',
    subjectKey: 'incidentId',
    payloadSchema: payload(
      {
        ...incident,
        updateMessage: str('The status update posted with this change.'),
        previousStatus: oneOf('Status before this change.', INCIDENT_STATUSES),
        previousSeverity: oneOf('Severity before this change.', SEVERITIES),
      },
      ['incidentId', 'title'],
    ),
    example: {
      ...incidentExample,
      status: 'identified',
      previousStatus: 'investigating',
      updateMessage: 'Rolled back the 14:00 deploy; error rate is falling.',
      updatedAt: '2025-03-04T14:21:03Z',
    },
  },
  {
    id: 'incident.resolved',
    displayName: 'Incident resolved',
    description: 'An incident was resolved.',
    category: 'Incidents',
    subjectKey: 'incidentId',
    resolves: true,
    payloadSchema: payload(
      {
        ...incident,
        resolvedAt: dateTime('When the incident was resolved.'),
        resolutionMessage: str('What fixed it.'),
      },
      ['incidentId', 'title'],
    ),
    example: {
      ...incidentExample,
      status: 'resolved',
      resolvedAt: '2025-03-04T14:52:40Z',
      updatedAt: '2025-03-04T14:52:40Z',
      resolutionMessage: 'Rollback complete; error rate back to baseline for 30 minutes.',
    },
  },
  {
    id: 'maintenance.created',
    displayName: 'Maintenance scheduled',
    description: 'A maintenance window was scheduled.',
    category: 'Maintenance',
    subjectKey: 'maintenanceId',
    payloadSchema: payload(maintenance, ['maintenanceId', 'title', 'startsAt', 'endsAt']),
    example: maintenanceExample,
  },
  {
    id: 'maintenance.updated',
    displayName: 'Maintenance updated',
    description: 'A maintenance window changed: new times, systems, description or an update was posted.',
    category: 'Maintenance',
    subjectKey: 'maintenanceId',
    payloadSchema: payload(
      { ...maintenance, updateMessage: str('The update posted with this change.') },
      ['maintenanceId', 'title'],
    ),
    example: {
      ...maintenanceExample,
      endsAt: '2025-03-08T03:30:00Z',
      updateMessage: 'Extended by 30 minutes to include a replica rebuild.',
      updatedAt: '2025-03-05T11:00:00Z',
    },
  },
  {
    id: 'maintenance.started',
    displayName: 'Maintenance started',
    description: 'A maintenance window began.',
    category: 'Maintenance',
    subjectKey: 'maintenanceId',
    payloadSchema: payload(
      { ...maintenance, startedAt: dateTime('When the work actually began.') },
      ['maintenanceId', 'title'],
    ),
    example: { ...maintenanceExample, status: 'in_progress', startedAt: '2025-03-08T02:00:04Z' },
  },
  {
    id: 'maintenance.completed',
    displayName: 'Maintenance completed',
    description: 'A maintenance window ended.',
    category: 'Maintenance',
    subjectKey: 'maintenanceId',
    resolves: true,
    payloadSchema: payload(
      {
        ...maintenance,
        completedAt: dateTime('When the work actually ended.'),
        completionMessage: str('Outcome of the maintenance.'),
      },
      ['maintenanceId', 'title'],
    ),
    example: {
      ...maintenanceExample,
      status: 'completed',
      completedAt: '2025-03-08T02:41:10Z',
      completionMessage: 'Failover and failback done; no data loss.',
    },
  },
  {
    id: 'healthcheck.system.degraded',
    displayName: 'System degraded',
    description: 'A system left the healthy state (to degraded or unhealthy).',
    category: 'Health checks',
    subjectKey: 'systemId',
    payloadSchema: payload(
      { ...healthcheck, state: oneOf('State after this change.', ['degraded', 'unhealthy']) },
      ['systemId', 'state'],
    ),
    example: {
      ...healthExample,
      previousState: 'healthy',
      state: 'degraded',
      message: 'GET /health returned 503 for 3 consecutive runs.',
    },
  },
  {
    id: 'healthcheck.system.healthy',
    displayName: 'System healthy again',
    description: 'A system returned to the healthy state.',
    category: 'Health checks',
    subjectKey: 'systemId',
    resolves: true,
    payloadSchema: payload(
      { ...healthcheck, state: oneOf('State after this change.', ['healthy']) },
      ['systemId'],
    ),
    example: {
      ...healthExample,
      previousState: 'degraded',
      state: 'healthy',
      healthyChecks: 3,
      occurredAt: '2025-03-04T14:50:02Z',
    },
  },
  {
    id: 'healthcheck.state-changed',
    displayName: 'System health changed',
    description: 'A system moved between any two health states.',
    category: 'Health checks',
    subjectKey: 'systemId',
    payloadSchema: payload(healthcheck, ['systemId', 'state']),
    example: { ...healthExample, previousState: 'degraded', state: 'unhealthy', healthyChecks: 0 },
  },
  // the hub's own events (owner `hub`): raised by the worker through the same ingest; a delivery of one
  // never raises another (activities/target-health.ts)
  {
    id: 'hub.delivery.exhausted',
    displayName: 'Delivery ran out of retries',
    description: 'A delivery failed its last attempt: its retries are used up and it is now failed.',
    category: 'Hub',
    subjectKey: 'deliveryId',
    payloadSchema: payload(
      {
        deliveryId: id('The failed delivery; GET /api/v1/deliveries/{deliveryId} shows its attempts.'),
        subscriptionId: id('The subscription the delivery belongs to.'),
        subscriptionName: str('Name of that subscription.'),
        provider: id('Provider of the subscription.'),
        event: id('Event type the delivery carried.'),
        emissionId: id('Emission id of the event.'),
        attempts: { type: 'integer', minimum: 1, description: 'Attempts made.' },
        error: { type: ['string', 'null'], description: 'The last attempt\'s error (sanitised).' },
        target: str('Target of the delivery (URL origin, channel, project).'),
        test: { type: 'boolean', description: 'The delivery was a test send.' },
        occurredAt: dateTime('When the last attempt failed.'),
      },
      ['deliveryId', 'subscriptionId', 'provider', 'event', 'attempts'],
    ),
    example: {
      deliveryId: 'dlv_3f1c9a0b7e6d4c2a9b8e7f6a5d4c3b2a',
      subscriptionId: 'sub_ops_webhook',
      subscriptionName: 'Incidents to the ops webhook',
      provider: 'webhook',
      event: 'incident.created',
      emissionId: 'evt_123',
      attempts: 8,
      error: 'HTTP 503 Service Unavailable',
      target: 'https://hooks.example.com',
      test: false,
      occurredAt: '2025-03-04T16:40:00Z',
    },
  },
  {
    id: 'hub.subscription.paused',
    displayName: 'Subscription paused',
    description: 'The hub paused a subscription: its target is gone for good (HTTP 410, archived channel) or has failed for too long.',
    category: 'Hub',
    subjectKey: 'subscriptionId',
    payloadSchema: payload(
      {
        subscriptionId: id('The paused subscription.'),
        subscriptionName: str('Name of that subscription.'),
        provider: id('Provider of the subscription.'),
        event: str('Event type the subscription takes.'),
        reason: id('Why it was paused (also its pausedReason).'),
        target: str('Target of the subscription.'),
        occurredAt: dateTime('When it was paused.'),
      },
      ['subscriptionId', 'reason'],
    ),
    example: {
      subscriptionId: 'sub_ops_slack',
      subscriptionName: 'Incidents to #ops',
      provider: 'slack',
      event: 'incident.created',
      reason: 'Slack channel is archived',
      target: 'slack:T024BE7LD:C024BE91L',
      occurredAt: '2025-03-04T16:40:00Z',
    },
  },
  {
    id: 'hub.subscription.resumed',
    displayName: 'Subscription resumed',
    description: 'A paused subscription was enabled again (or given a new config) and takes events again.',
    category: 'Hub',
    subjectKey: 'subscriptionId',
    resolves: true,
    payloadSchema: payload(
      {
        subscriptionId: id('The resumed subscription.'),
        subscriptionName: str('Name of that subscription.'),
        provider: id('Provider of the subscription.'),
        event: str('Event type the subscription takes.'),
        previousReason: str('Why it had been paused.'),
        occurredAt: dateTime('When it was resumed.'),
      },
      ['subscriptionId'],
    ),
    example: {
      subscriptionId: 'sub_ops_slack',
      subscriptionName: 'Incidents to #ops',
      provider: 'slack',
      event: 'incident.created',
      previousReason: 'Slack channel is archived',
      occurredAt: '2025-03-05T09:12:00Z',
    },
  },
  {
    id: 'hub.plugin.failing',
    displayName: 'Plugin failing',
    description: 'An installed provider plugin kept crashing or hanging: it was disabled and its subscriptions paused.',
    category: 'Hub',
    subjectKey: 'pluginId',
    payloadSchema: payload(
      {
        pluginId: id('The disabled plugin (GET /api/v1/plugins/{id}).'),
        package: str('Its npm package name.'),
        version: str('Its version.'),
        reason: str('Why it was disabled (also its disabledReason).'),
        providers: { type: 'array', items: { type: 'string' }, description: 'Provider ids of the plugin.' },
        pausedSubscriptions: { type: 'array', items: { type: 'string' }, description: 'Subscriptions paused because of it.' },
        occurredAt: dateTime('When it was disabled.'),
      },
      ['pluginId', 'reason'],
    ),
    example: {
      pluginId: 'plg_4f1c2a9e0b7d6c5e4f3a2b1c',
      package: '@acme/provider-chat',
      version: '1.2.0',
      reason: 'its host crashed 3 times within 600 s; last: it did not answer deliver within 30000 ms',
      providers: ['acme-chat'],
      pausedSubscriptions: ['sub_ops_chat'],
      occurredAt: '2025-03-04T16:40:00Z',
    },
  },
  {
    id: 'hub.target.unhealthy',
    displayName: 'Target unhealthy',
    description: 'Attempts to a target failed past the threshold: its circuit opened and deliveries to it wait.',
    category: 'Hub',
    subjectKey: 'target',
    payloadSchema: payload(
      {
        target: id('The target (URL origin, channel, project); GET /api/v1/targets lists it.'),
        provider: id('Provider of the attempt that opened the circuit.'),
        failureRate: { type: ['number', 'null'], minimum: 0, maximum: 1, description: 'Share of failed attempts in the window.' },
        openedAt: dateTime('When the circuit opened.'),
        occurredAt: dateTime('When the event was raised.'),
      },
      ['target'],
    ),
    example: {
      target: 'https://hooks.example.com',
      provider: 'webhook',
      failureRate: 0.9,
      openedAt: '2025-03-04T16:35:00Z',
      occurredAt: '2025-03-04T16:35:00Z',
    },
  },
  {
    id: 'hub.target.recovered',
    displayName: 'Target recovered',
    description: 'A probe to an unhealthy target succeeded: its circuit closed and deliveries to it go again.',
    category: 'Hub',
    subjectKey: 'target',
    resolves: true,
    payloadSchema: payload(
      {
        target: id('The target that recovered.'),
        provider: id('Provider of the attempt that closed the circuit.'),
        recoveredAt: dateTime('When the circuit closed.'),
        occurredAt: dateTime('When the event was raised.'),
      },
      ['target'],
    ),
    example: { target: 'https://hooks.example.com', provider: 'webhook', recoveredAt: '2025-03-04T16:41:00Z', occurredAt: '2025-03-04T16:41:00Z' },
  },
];

/**
 * The catalogue shipped with the service; domain services may add or override entries via `PUT /events/{id}`.
 * Entries are deep copies, so no two share an example or schema object.
 */
export const BUILTIN_EVENT_TYPES: EventTypeDefinition[] = entries.map(({ id, ...rest }) =>
  structuredClone({ id, owner: ownerOfEventId(id), ...rest }),
);
