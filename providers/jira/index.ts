import type { EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { checkTemplatePaths } from '../shared/template';
import { jiraConfigSchema, jiraConnectionSchema, siteKey, type JiraConfig, type JiraConnection } from './config';
import { testJiraConnection, jiraOptions } from './connection';
import { deliverJira } from './deliver';

export { jiraConfigSchema, jiraConnectionSchema, type JiraConfig, type JiraConnection } from './config';

/** Save-time checks beyond the schema: template paths the event's payload can never hold. */
export function validateJiraConfig(config: JiraConfig, eventType: EventTypeInfo): FieldProblem[] {
  const templates: Array<[string | undefined, string]> = [
    [config.summaryTemplate, 'config.summaryTemplate'],
    [config.descriptionTemplate, 'config.descriptionTemplate'],
    [config.commentTemplate, 'config.commentTemplate'],
    ...(config.fieldMappings ?? []).map((m, i): [string, string] => [m.template, `config.fieldMappings.${i}.template`]),
  ];
  return templates.flatMap(([template, path]) => (template === undefined ? [] : checkTemplatePaths(template, eventType, path)));
}

/**
 * Jira Cloud and Data Center: the first event about a subject opens an issue, follow-ups comment on it,
 * a resolving event moves it to a done status.
 */
export const jiraProvider: ProviderDefinition<JiraConfig, JiraConnection> = {
  id: 'jira',
  displayName: 'Jira',
  description:
    'Opens a Jira issue (Cloud or Data Center) for the first event about an incident, maintenance or system, ' +
    'comments on it for each follow-up, and moves it to a done status when the subject is resolved.',
  configSchema: jiraConfigSchema,
  connectionSchema: jiraConnectionSchema,
  connection: 'required',
  followUps: true,
  followUpTarget: (config, connection) => (connection ? `jira:${siteKey(connection.baseUrl)}:${config.projectKey}` : undefined),
  validateConfig: validateJiraConfig,
  deliver: deliverJira,
  testConnection: testJiraConnection,
  options: jiraOptions,
};
