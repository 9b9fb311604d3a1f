import type { ConnectionContext, EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { sanitise } from '../shared/sanitise';
import { outcomeFromError } from '../http/outcome';
import { checkTemplatePaths } from '../shared/template';
import { WebexApi, WebexRefusal } from './api';
import { apiBase, webexConfigSchema, webexConnectionSchema, type WebexConfig, type WebexConnection } from './config';
import { deliverWebex } from './deliver';

export { webexConfigSchema, webexConnectionSchema, type WebexConfig, type WebexConnection } from './config';

/** Save-time checks beyond the schema: template paths that can never hold a value for this event. */
export function validateWebexConfig(config: WebexConfig, eventType: EventTypeInfo): FieldProblem[] {
  return config.messageTemplate ? checkTemplatePaths(config.messageTemplate, eventType, 'config.messageTemplate') : [];
}

/** The connection parsed with its defaults, or an Error naming the invalid fields (never their values). */
function parsedConnection(ctx: ConnectionContext<WebexConnection>): WebexConnection {
  const parsed = webexConnectionSchema.safeParse(ctx.connection);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((issue) => ['connection', ...issue.path.map(String)].join('.')))];
    throw new Error(`Webex connection is invalid at ${paths.join(', ')}`);
  }
  return parsed.data;
}

/** `GET /people/me`: proves the token works and names the bot. */
async function testWebexConnection(ctx: ConnectionContext<WebexConnection>): Promise<{ ok: boolean; message: string }> {
  let connection: WebexConnection;
  try {
    connection = parsedConnection(ctx);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  try {
    const me = await new WebexApi(ctx.http, connection).me();
    if (me.type && me.type !== 'bot') {
      return { ok: true, message: `Connected as ${me.type} ${me.displayName}: not a bot token, so messages are posted in this account's name` };
    }
    return { ok: true, message: `Connected as bot ${me.displayName}` };
  } catch (err) {
    if (err instanceof WebexRefusal) return { ok: false, message: sanitise(err.message, [connection.botToken]) };
    const outcome = outcomeFromError(err, [connection.botToken]);
    return { ok: false, message: outcome.kind === 'success' ? 'unexpected answer' : `Webex could not be reached: ${outcome.error}` };
  }
}

/** The Webex provider: posts Markdown messages to a space as a bot, and threads or edits follow-ups. */
export const webexProvider: ProviderDefinition<WebexConfig, WebexConnection> = {
  id: 'webex',
  displayName: 'Webex',
  description:
    'Posts a Markdown message to a Webex space as a bot (title with severity, systems, description, link, or your ' +
    'own template). Later events about the same incident, maintenance or system reply in its thread or edit it.',
  configSchema: webexConfigSchema,
  connectionSchema: webexConnectionSchema,
  connection: 'required',
  followUps: true,
  // edits of one message collapse to the newest; replies are a history
  coalesceFollowUps: (config) => config.followUpMode === 'edit',
  // One record per room of one Webex deployment: every subscription posting there shares the thread.
  followUpTarget: (config, connection) => (config.roomId ? `webex:${apiBase(connection)}:${config.roomId}` : undefined),
  validateConfig: validateWebexConfig,
  deliver: deliverWebex,
  testConnection: testWebexConnection,
  options: {
    /** Group spaces the bot is a member of: `[{value: roomId, label: title}]`. */
    rooms: async (ctx) => new WebexApi(ctx.http, parsedConnection(ctx)).listRooms(),
  },
};
