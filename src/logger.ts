import { pino, type Logger, type LoggerOptions } from 'pino';
import { activeTraceFields } from './tracing/active-trace.js';

export type { Logger } from 'pino';

/**
 * The project's one logger factory: JSON lines by default (what log shippers want),
 * pino-pretty when a person is watching a TTY. MODELSHIP_LOG_FORMAT=json|pretty overrides.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const format = process.env.MODELSHIP_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const level = process.env.MODELSHIP_LOG_LEVEL ?? options.level ?? 'info';
  // trace_id/span_id of the active span on every line logged inside one (nothing when untraced).
  const base: LoggerOptions = { name, level, mixin: activeTraceFields, ...options };
  if (format === 'pretty') {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(base, pino.destination(2));
}
