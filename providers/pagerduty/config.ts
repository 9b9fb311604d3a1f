import { z } from 'zod';
import { apiBaseUrlField } from '../shared/api-base';
import { secretMeta } from '../shared/secret-field';

/** The Events API v2 host; EU accounts use https://events.eu.pagerduty.com. */
export const PAGERDUTY_EVENTS_BASE = 'https://events.pagerduty.com';

/** PagerDuty's limits (provider-apis.md): dedup_key 255 characters, summary 1024. */
export const DEDUP_KEY_MAX = 255;
export const SUMMARY_MAX = 1024;

/** Config of one PagerDuty subscription: the service's integration key and how events map to alerts. */
export const pagerdutyConfigSchema = z.strictObject({
  routingKey: z
    .string()
    // PagerDuty refuses any other length with 400 "Length of 'routing_key' is incorrect (should be 32 characters)"
    .regex(/^[A-Za-z0-9]{32}$/, 'must be the 32-character integration key of an Events API v2 integration')
    .meta(secretMeta({ boundTo: ['apiBaseUrl'] }))
    .describe('Integration key (routing key) of the service\'s "Events API v2" integration'),
  apiBaseUrl: apiBaseUrlField()
    .default(PAGERDUTY_EVENTS_BASE)
    .describe('Events API base URL: https://events.pagerduty.com, or https://events.eu.pagerduty.com for EU accounts'),
  source: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('payload.source of the alert; defaults to the first system of the event, else "integrations-hub"'),
  component: z.string().min(1).max(255).optional().describe('payload.component of the alert'),
  group: z.string().min(1).max(255).optional().describe('payload.group of the alert'),
  followUpAction: z
    .enum(['update', 'acknowledge'])
    .default('update')
    .describe(
      'Later events about the same subject that do not end it: "update" triggers again with the same dedup_key ' +
        '(the open alert takes the new summary and details), "acknowledge" acknowledges it. Resolving events always resolve it.',
    ),
  defaultSeverity: z
    .enum(['critical', 'error', 'warning', 'info'])
    .default('warning')
    .describe('PagerDuty severity when the event has none (critical -> critical, major -> error, minor -> warning, info -> info)'),
});

/** A parsed PagerDuty subscription config. */
export type PagerdutyConfig = z.output<typeof pagerdutyConfigSchema>;
