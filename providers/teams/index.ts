import type { z } from 'zod';
import type { ConfigContext, ConnectionContext, DeliveryContext, DeliveryOutcome, EventTypeInfo, FieldProblem, OptionItem, ProviderDefinition } from '../types';
import { TemplateError, checkTemplatePaths } from '../shared/template';
import { OptionsQueryError } from '../options';
import { cardText, type CardText } from './card';
import { deliverToChannel } from './channel';
import {
  DEFAULT_GRAPH_BASE_URL,
  teamsConfigSchema,
  teamsConnectionSchema,
  type GraphConfig,
  type TeamsConfig,
  type TeamsConnection,
} from './config';
import { listAll } from './graph';
import { getToken } from './token';
import { deliverToWorkflow } from './workflows';

export { teamsConfigSchema, teamsConnectionSchema, type TeamsConfig, type TeamsConnection } from './config';

const NO_CONNECTION =
  'This Teams subscription posts through Microsoft Graph (mode "graph") but has no connection: ' +
  'add a Teams connection with the app credentials, or use a Workflows webhook URL (mode "workflow")';

/** Field paths and messages of a zod error; our messages never quote the value. */
function describeIssues(error: z.ZodError, root: string): string {
  return error.issues.map((issue) => `${[root, ...issue.path.map(String)].join('.')} ${issue.message}`).join('; ');
}

/** Save-time checks beyond the schema: template fields that can never have a value. */
function validateTeamsConfig(config: TeamsConfig, eventType: EventTypeInfo, context: ConfigContext): FieldProblem[] {
  return [
    ...(config.titleTemplate ? checkTemplatePaths(config.titleTemplate, eventType, 'config.titleTemplate') : []),
    ...(config.textTemplate ? checkTemplatePaths(config.textTemplate, eventType, 'config.textTemplate') : []),
    ...(config.mode === 'graph' && !context.hasConnection
      ? [{ path: 'connectionId', message: 'is required in graph mode (a connection with the app credentials)' }]
      : []),
  ];
}

/** One attempt: Workflows webhook post, or Graph channel post / thread reply. Never throws for a bad config. */
async function deliverTeams(ctx: DeliveryContext<TeamsConfig, TeamsConnection>): Promise<DeliveryOutcome> {
  // config and connection are the schemas' output: parsed once by the attempt activity (providers/input.ts)
  const config = ctx.config;
  let text: CardText;
  try {
    text = cardText(ctx, config);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }
  if (config.mode === 'workflow') return deliverToWorkflow({ ...ctx, config }, text);

  if (!ctx.connection) return { kind: 'permanent', errorCode: 'connection_missing', error: NO_CONNECTION, pauseReason: NO_CONNECTION };
  return deliverToChannel({ ...ctx, config: config as GraphConfig, connection: ctx.connection }, ctx.connection, text);
}

function parsedConnection(connection: unknown): TeamsConnection {
  const parsed = teamsConnectionSchema.safeParse(connection);
  if (!parsed.success) throw new Error(`Teams connection is invalid: ${describeIssues(parsed.error, 'connection')}`);
  return parsed.data;
}

/** Gets a token and lists the teams the app can see: proves tenant, client id, secret and Graph permission. */
async function testTeamsConnection(ctx: ConnectionContext<TeamsConnection>): Promise<{ ok: boolean; message: string }> {
  const conn = parsedConnection(ctx.connection);
  const token = await getToken(ctx.http, conn);
  if (!token.ok) return { ok: false, message: token.outcome.error };
  try {
    const { items, more } = await listAll<unknown>(ctx.http, conn, '/teams?$select=id,displayName');
    return { ok: true, message: `Found ${items.length}${more ? '+' : ''} team(s)` };
  } catch (err) {
    return { ok: false, message: `Got a token, but listing teams failed: ${err instanceof Error ? err.message : 'unknown error'}` };
  }
}

interface NamedItem {
  id?: unknown;
  displayName?: unknown;
  membershipType?: unknown;
}

function toOptions(items: NamedItem[], label: (item: NamedItem & { id: string; displayName: string }) => string): OptionItem[] {
  return items
    .filter((i): i is NamedItem & { id: string; displayName: string } => typeof i.id === 'string' && typeof i.displayName === 'string')
    .map((i) => ({ value: i.id, label: label(i) }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** Microsoft Teams: Adaptive Cards through a Workflows webhook, or Graph channel messages threaded per subject. */
export const teamsProvider: ProviderDefinition<TeamsConfig, TeamsConnection> = {
  id: 'teams',
  /** Office 365 connector webhook paths (`/webhookb2/...`): the path is the credential. */
  redact: [{ pattern: /(\/webhookb2\/)[A-Za-z0-9_@/.-]+/gi, replacement: '$1***' }],
  displayName: 'Microsoft Teams',
  description:
    'Posts an Adaptive Card (title, severity, systems, status, time, description, link) to a Teams channel. ' +
    'Mode "workflow": a Teams Workflows webhook URL ("When a Teams webhook request is received"); no follow-ups. ' +
    'Mode "graph": Microsoft Graph with app credentials from a connection; later events about the same subject ' +
    'reply in the first message\'s thread, ending with a "Resolved" card. Office 365 connector URLs are retired and refused.',
  configSchema: teamsConfigSchema,
  connectionSchema: teamsConnectionSchema,
  connection: 'optional',
  followUps: true,
  // follow-ups are replies in the first message's thread: a history, every one is sent
  coalesceFollowUps: false,
  followUpTarget(config, connection) {
    if (config.mode !== 'graph' || !connection) return undefined;
    const graph = connection.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL;
    return `teams:${graph}:${connection.tenantId}:${config.teamId}:${config.channelId}`;
  },
  validateConfig: validateTeamsConfig,
  deliver: deliverTeams,
  testConnection: testTeamsConnection,
  options: {
    async teams(ctx) {
      const { items } = await listAll<NamedItem>(ctx.http, parsedConnection(ctx.connection), '/teams?$select=id,displayName');
      return toOptions(items, (team) => team.displayName);
    },
    async channels(ctx) {
      const teamId = ctx.query.teamId;
      if (!teamId) throw new OptionsQueryError('teamId', 'is required (pick a team first)');
      const path = `/teams/${encodeURIComponent(teamId)}/channels?$select=id,displayName,membershipType`;
      const { items } = await listAll<NamedItem>(ctx.http, parsedConnection(ctx.connection), path);
      return toOptions(items, (channel) =>
        channel.membershipType && channel.membershipType !== 'standard' ? `${channel.displayName} (${String(channel.membershipType)})` : channel.displayName,
      );
    },
  },
};
