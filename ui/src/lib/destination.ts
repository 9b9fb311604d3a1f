/**
 * Where a subscription sends, in a few words, from its (masked) config: the URL origin of a webhook, the channel,
 * room, chat or project of a bot; never a secret (a secret webhook URL comes back as `{"set": true}` and is only
 * named as such).
 */
export function destinationOf(provider: string, config: Record<string, unknown>): string {
  const str = (k: string) => (typeof config[k] === 'string' || typeof config[k] === 'number' ? String(config[k]) : undefined);
  for (const k of ['url', 'webhookUrl', 'baseUrl']) {
    const origin = originOf(config[k]);
    if (origin) return origin;
  }
  if (str('projectKey')) return `project ${str('projectKey')}${str('issueTypeId') ? ` (issue type ${str('issueTypeId')})` : ''}`;
  if (str('channel')) return `channel ${str('channel')}`;
  if (str('channelId')) return `channel ${str('channelId')}${str('teamId') ? ` of team ${str('teamId')}` : ''}`;
  if (str('roomId')) return `room ${str('roomId')}`;
  if (str('chatId')) return `chat ${str('chatId')}`;
  if (Array.isArray(config.to)) return `mail to ${(config.to as unknown[]).join(', ')}`;
  if (isSet(config.webhookUrl) || isSet(config.url)) return `${provider} webhook (secret URL)`;
  if (str('command')) return 'shell command';
  if (typeof config.source === 'string') return 'script';
  return '—';
}

const isSet = (v: unknown) => typeof v === 'object' && v !== null && (v as { set?: unknown }).set === true;

function originOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || !/^https?:\/\//i.test(v)) return undefined;
  // a templated host ({{payload.region}}.example.com) is shown as written
  if ((v.split('/')[2] ?? '').includes('{{')) return v.split('/').slice(0, 3).join('/');
  try {
    return new URL(v.replace(/\{\{[^}]*\}\}\}?/g, 'x')).origin;
  } catch {
    return undefined;
  }
}
