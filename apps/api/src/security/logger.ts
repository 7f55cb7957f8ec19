import { ConsoleLogger, type LogLevel } from '@nestjs/common';

export interface LoggerSettings {
  format: 'text' | 'json';
  levels: LogLevel[];
  /** Whether stdout is a terminal; colours only then (a log file or collector gets plain text). */
  isTTY?: boolean;
  /** NO_COLOR set (https://no-color.org) turns colours off even on a terminal. */
  noColor?: boolean;
}

/**
 * Nest's console logger, coloured only on a terminal: redirected to a file, a pipe or a log
 * collector, ANSI escape codes are noise. LOG_FORMAT=json writes one JSON object per line.
 */
export function createLogger(settings: LoggerSettings): ConsoleLogger {
  const json = settings.format === 'json';
  return new ConsoleLogger({
    logLevels: settings.levels,
    json,
    colors: !json && settings.isTTY === true && !settings.noColor,
  });
}

/** The settings for this process's stdout. */
export function processLoggerSettings(format: 'text' | 'json', levels: LogLevel[]): LoggerSettings {
  return {
    format,
    levels,
    isTTY: process.stdout.isTTY,
    noColor: (process.env.NO_COLOR ?? '') !== '',
  };
}
