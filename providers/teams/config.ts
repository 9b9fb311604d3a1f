import { z } from 'zod';
import { templateField } from '../shared/template';
import { SECRET_META, secretMeta } from '../shared/secret-field';

const DEFAULT_AUTHORITY_BASE_URL = 'https://login.microsoftonline.com';
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';

/** Why an Office 365 connector URL is refused, and what to use instead. */
const RETIRED_CONNECTOR_MESSAGE =
  'is an Office 365 connector URL (webhook.office.com / outlook.office.com); Microsoft retired these connectors. ' +
  'In Teams, open Workflows, create a flow from "Send webhook alerts to a channel" (trigger "When a Teams webhook ' +
  'request is received") and paste the URL it gives you';

/** True for the retired Office 365 connector / classic Incoming Webhook URLs. */
export function isRetiredConnectorUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'webhook.office.com' || host.endsWith('.webhook.office.com')) return true;
  return (host === 'outlook.office.com' || host === 'outlook.office365.com') && /^\/webhook(b2)?\//i.test(parsed.pathname);
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function isApiBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return isHttpUrl(value) && !url.username && !url.password && !url.search && !url.hash && !/[?#]/.test(value);
  } catch {
    return false;
  }
}

const baseUrl = (fallback: string) =>
  z
    .string()
    .max(2048)
    .refine(isApiBaseUrl, 'must be an absolute http:// or https:// URL without credentials, query or fragment')
    .transform((v) => v.replace(/\/+$/, ''))
    .default(fallback);

// Graph ids go into URL paths; they are encoded, but a path separator is never a valid id.
const graphId = (what: string) =>
  z.string().trim().min(1).max(512).regex(/^[^/?#\\\s]+$/, `is not a valid ${what} id`);

const templates = {
  titleTemplate: templateField(1024)
    .optional()
    .describe('Card title, e.g. "[{{payload.severity}}] {{payload.title}}"; reads event, payload, deliveryId, subscription'),
  textTemplate: templateField(8192)
    .optional()
    .describe('Card text below the facts; replaces the payload description. Values are written on one line'),
};

/** Workflows (Power Automate) "When a Teams webhook request is received": post only, no follow-ups. */
const workflowConfig = z.strictObject({
  mode: z.literal('workflow').describe('Post through a Teams Workflows webhook URL (no follow-ups)'),
  webhookUrl: z
    .string()
    .max(4096)
    .refine(isHttpUrl, { message: 'must be an absolute http:// or https:// URL', abort: true })
    // a stored retired URL can never work again: the delivery pauses the subscription (providers/input.ts)
    .refine((url) => !isRetiredConnectorUrl(url), { message: RETIRED_CONNECTOR_MESSAGE, params: { pauseReason: `The webhook URL ${RETIRED_CONNECTOR_MESSAGE}` } })
    .meta(SECRET_META)
    .describe('The workflow URL from Teams Workflows; it carries the sig= signature, so it is kept secret'),
  ...templates,
});

/** Microsoft Graph channel messages with the connection's app credentials: threads follow-ups as replies. */
const graphConfig = z.strictObject({
  mode: z
    .literal('graph')
    .describe(
      "Post with Microsoft Graph and the connection's app credentials; follow-ups reply in the thread. " +
        'Graph refuses app-only channel posts outside message import (migration) mode, which the error then says',
    ),
  teamId: graphId('team').meta({ 'x-options-resolver': 'teams' }).describe('Team (group) id'),
  channelId: graphId('channel')
    .meta({ 'x-options-resolver': 'channels', 'x-depends-on': ['teamId'] })
    .describe('Channel id, e.g. 19:…@thread.tacv2'),
  ...templates,
});

/** Config of one Teams subscription: a Workflows webhook URL, or a Graph team and channel (needs a connection). */
export const teamsConfigSchema = z.discriminatedUnion('mode', [workflowConfig, graphConfig]);

/** App credentials (client credentials grant) shared by Graph-mode subscriptions. */
export const teamsConnectionSchema = z.strictObject({
  tenantId: graphId('tenant').describe('Directory (tenant) id or domain'),
  clientId: graphId('client').describe('Application (client) id of the app registration'),
  clientSecret: z
    .string()
    .min(1)
    .max(1024)
    // sent to the authority; the token it buys is sent to Graph
    .meta(secretMeta({ boundTo: ['authorityBaseUrl', 'graphBaseUrl'] })).describe('Client secret value of the app registration'),
  authorityBaseUrl: baseUrl(DEFAULT_AUTHORITY_BASE_URL).describe(`Token authority (default ${DEFAULT_AUTHORITY_BASE_URL}); change for national clouds`),
  graphBaseUrl: baseUrl(DEFAULT_GRAPH_BASE_URL).describe(`Microsoft Graph base URL with version (default ${DEFAULT_GRAPH_BASE_URL})`),
});

export type TeamsConfig = z.output<typeof teamsConfigSchema>;
export type WorkflowConfig = Extract<TeamsConfig, { mode: 'workflow' }>;
export type GraphConfig = Extract<TeamsConfig, { mode: 'graph' }>;
export type TeamsConnection = z.output<typeof teamsConnectionSchema>;
