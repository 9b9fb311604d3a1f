/** One log call in pino's form: the fields first, then the message. */
export type LogFn = (fields: Record<string, unknown>, message: string) => void;

/**
 * The logging providers and their loader need, as a type: the host hands in its logger (src/logger's pino
 * Logger fits), so nothing below src/ imports the host's logger module.
 */
export interface Logger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}
