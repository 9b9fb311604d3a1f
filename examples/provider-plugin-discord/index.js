'use strict';
// An Integrations Hub provider plugin: Discord channel webhooks.
// The hub calls createProvider(sdk) with its own zod (sdk.z) and helpers; the module needs nothing else.

const WEBHOOK_URL = /^https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/(?:v\d+\/)?webhooks\/(\d+)\/[\w-]+$/;

exports.createProvider = function createProvider(sdk) {
  const { z, outcomeFromResponse, outcomeFromError, summarise, truncate, severityColor, secretMeta } = sdk;

  const configSchema = z
    .object({
      // the webhook URL carries its token: a secret, encrypted at rest and masked on read; it is sent to
      // apiBaseUrl when one is set, so moving apiBaseUrl elsewhere needs the URL again
      webhookUrl: z
        .string()
        .url()
        .meta({ ...secretMeta({ boundTo: ['apiBaseUrl'] }), description: 'https://discord.com/api/webhooks/<id>/<token>' }),
      username: z.string().min(1).max(80).optional(),
      // for tests and proxies: replaces https://discord.com/api in the URL
      apiBaseUrl: z.string().url().optional(),
    })
    .strict();

  function hookUrl(config) {
    const url = new URL(config.webhookUrl);
    if (!config.apiBaseUrl) return url.toString();
    const rest = url.pathname.replace(/^\/api/, '');
    return config.apiBaseUrl.replace(/\/$/, '') + rest;
  }

  function message(ctx) {
    const s = summarise(ctx);
    const lines = [s.description, s.systems.length ? `Systems: ${s.systems.join(', ')}` : undefined].filter(Boolean);
    return {
      username: ctx.config.username,
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: truncate(`${s.resolves ? '✅ ' : ''}${s.title}`, 256),
          description: truncate(lines.join('\n') || s.eventName, 4096),
          url: s.url,
          color: parseInt(severityColor(s.severity, s.resolves), 16),
          fields: [
            { name: 'Event', value: truncate(s.eventName, 1024), inline: true },
            ...(s.severity ? [{ name: 'Severity', value: truncate(s.severity, 1024), inline: true }] : []),
          ],
          timestamp: s.occurredAt,
        },
      ],
    };
  }

  /** 404/401/403 and Discord's "unknown webhook" / "invalid token" mean the hook is gone: pause. */
  function classify(res, secrets) {
    const outcome = outcomeFromResponse(res, { secrets });
    if (outcome.kind === 'permanent' && [401, 403, 404].includes(res.status)) {
      return { ...outcome, pauseReason: `Discord answered ${res.status}: the webhook was deleted or its token is invalid` };
    }
    return outcome;
  }

  return {
    id: 'discord-example',
    displayName: 'Discord (example plugin)',
    description: 'Post an embed to a Discord channel through a channel webhook; follow-ups edit the message.',
    configSchema,
    followUps: true,
    followUpTarget: (config) => {
      const m = WEBHOOK_URL.exec(config.webhookUrl);
      return m ? `discord-example:${m[1]}` : undefined;
    },
    validateConfig: (config) =>
      WEBHOOK_URL.test(config.webhookUrl) ? [] : [{ path: 'config.webhookUrl', message: 'must be a Discord webhook URL' }],
    async deliver(ctx) {
      const secrets = [ctx.config.webhookUrl, ctx.config.webhookUrl.split('/').pop()];
      const base = hookUrl(ctx.config);
      const editing = ctx.followUp !== undefined;
      try {
        const res = await ctx.http.request({
          method: editing ? 'PATCH' : 'POST',
          url: editing ? `${base}/messages/${encodeURIComponent(ctx.followUp.externalId)}` : `${base}?wait=true`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(message(ctx)),
        });
        const outcome = classify(res, secrets);
        if (outcome.kind !== 'success') return outcome;
        const id = JSON.parse(res.body || '{}').id;
        return { kind: 'success', httpStatus: res.status, externalId: typeof id === 'string' ? id : undefined };
      } catch (err) {
        return outcomeFromError(err, secrets);
      }
    },
  };
};
