import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import type { Logger } from './logger.js';

/** Routes the Temporal SDK's logs (worker, workflow and activity loggers) into pino. */
export function pinoSdkLogger(logger: Logger): SdkLogger {
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => write(level, message, meta);
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level];
    logger[method](meta ?? {}, message);
  };
  return { log: write, trace: at('TRACE'), debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}
