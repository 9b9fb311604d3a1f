import { z } from 'zod';
import { apiBaseUrlField, trimBase } from '../shared/api-base';
import { secretMeta } from '../shared/secret-field';

/** The Opsgenie API hosts by region. */
export const OPSGENIE_API_BASES = { us: 'https://api.opsgenie.com', eu: 'https://api.eu.opsgenie.com' } as const;

/** Opsgenie's field limits (provider-apis.md): message 130, alias 512, description 15000; notes 25000. */
export const MESSAGE_MAX = 130;
export const ALIAS_MAX = 512;
export const DESCRIPTION_MAX = 15000;
export const NOTE_MAX = 25000;

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Config of one Opsgenie subscription: the API integration key, the region, and what alerts carry. */
export const opsgenieConfigSchema = z.strictObject({
  apiKey: z
    .string()
    .min(1)
    .max(256)
    // it becomes the Authorization header, so a line break would split the request
    .refine((value) => !CONTROL_CHARS.test(value) && !/\s/.test(value), 'must not contain spaces or control characters')
    .meta(secretMeta({ boundTo: ['region', 'apiBaseUrl'] }))
    .describe('API key of an Opsgenie "API" integration (sent as Authorization: GenieKey <key>)'),
  region: z.enum(['us', 'eu']).default('us').describe('Opsgenie instance: us (api.opsgenie.com) or eu (api.eu.opsgenie.com)'),
  apiBaseUrl: apiBaseUrlField().optional().describe('Overrides the region\'s API host (proxies, tests)'),
  tags: z.array(z.string().min(1).max(50)).max(20).default([]).describe('Tags added to every alert, besides the event type'),
  team: z.string().min(1).max(100).optional().describe('Team name added to the alert\'s responders'),
  defaultPriority: z
    .enum(['P1', 'P2', 'P3', 'P4', 'P5'])
    .default('P3')
    .describe('Priority when the event has no severity (critical -> P1, major -> P2, minor -> P3, info -> P5)'),
});

/** A parsed Opsgenie subscription config. */
export type OpsgenieConfig = z.output<typeof opsgenieConfigSchema>;

/** The API base of a config, without trailing slashes. */
export function opsgenieBase(config: Pick<OpsgenieConfig, 'region' | 'apiBaseUrl'>): string {
  return trimBase(config.apiBaseUrl ?? OPSGENIE_API_BASES[config.region]);
}
