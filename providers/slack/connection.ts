import type { ConnectionContext, OptionItem } from '../types';
import { SlackApi } from './api';
import { slackConnectionSchema, type SlackConnection } from './config';

/** Stored connections are parsed again so the API base URL default applies. */
function openApi(ctx: ConnectionContext<SlackConnection>): SlackApi {
  return new SlackApi(ctx.http, slackConnectionSchema.parse(ctx.connection));
}

/** `auth.test`: "Connected to <workspace> as <bot user>", or why the token was refused. */
export async function testSlackConnection(ctx: ConnectionContext<SlackConnection>): Promise<{ ok: boolean; message: string }> {
  const parsed = slackConnectionSchema.safeParse(ctx.connection);
  if (!parsed.success) return { ok: false, message: 'The connection config is invalid: save it again with a bot token' };
  const r = await new SlackApi(ctx.http, parsed.data).post('auth.test', {});
  if (!r.ok) return { ok: false, message: (r.failure.kind === 'permanent' && r.failure.pauseReason) || r.failure.error };
  const team = typeof r.body.team === 'string' ? r.body.team : 'the workspace';
  const user = typeof r.body.user === 'string' ? r.body.user : 'an unnamed user';
  return { ok: true, message: `Connected to ${team} as ${user}` };
}

/** At most this many pages of 200 channels are read for one dropdown. */
const MAX_PAGES = 50;

/**
 * Channels the bot can post to (public, and private ones it is in), not archived, sorted by name:
 * `[{value: 'C0123ABCD', label: '#ops'}]`. Throws with a sanitised reason when Slack refuses.
 */
export async function listChannels(ctx: ConnectionContext<SlackConnection>): Promise<OptionItem[]> {
  const api = openApi(ctx);
  const items: OptionItem[] = [];
  let cursor = '';
  for (let page = 0; page < MAX_PAGES; page++) {
    const query: Record<string, string> = { types: 'public_channel,private_channel', exclude_archived: 'true', limit: '200' };
    if (cursor) query.cursor = cursor;
    const r = await api.get('conversations.list', query);
    if (!r.ok) throw new Error(r.failure.error);
    const channels = Array.isArray(r.body.channels) ? (r.body.channels as Array<Record<string, unknown>>) : [];
    for (const c of channels) {
      if (typeof c.id !== 'string' || typeof c.name !== 'string' || c.is_archived === true) continue;
      items.push({ value: c.id, label: `#${c.name}${c.is_private === true ? ' (private)' : ''}` });
    }
    const next = r.body.response_metadata?.next_cursor;
    if (typeof next !== 'string' || next === '') break;
    cursor = next;
  }
  return items.sort((a, b) => a.label.localeCompare(b.label));
}
