import pino from 'pino';

export type Logger = pino.Logger;

/** One pino root per daemon; components get children carrying their id on every line. */
export function createRootLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  // The environment wins over the config file, so an operator can turn up logging without editing it.
  const level = process.env.TRACEHOUSE_LOG_LEVEL ?? options.level ?? 'info';
  return options.destination ? pino({ level }, options.destination) : pino({ level });
}

/** A logger that writes nothing, for tests and tools that construct components directly. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
