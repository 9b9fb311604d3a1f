import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** The service logger: JSON lines on stdout (or `destination`); known secret-bearing paths are redacted by pino. */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'config.auth',
        '*.config.auth',
        'token',
        '*.token',
        'password',
        '*.password',
      ],
      censor: '***',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
