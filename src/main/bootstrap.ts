/**
 * What every process does first (load and validate the configuration, make a
 * logger) and last (two-stage shutdown: the first SIGTERM/SIGINT finishes in-flight
 * work, a second one exits at once).
 */
import { type Config, ConfigError, type LoadOptions, loadConfig } from '../config/config.ts';
import { type Logger, createLogger } from '../log/logger.ts';

export function bootstrap(service: string, options: LoadOptions = {}): { config: Config; logger: Logger } {
  let config: Config;
  try {
    config = loadConfig(process.env, options);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format, service });
  process.on('unhandledRejection', (error) => logger.error('unhandled promise rejection', { error }));
  return { config, logger };
}

export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger.info(`${signal}: finishing in-flight work, then exiting (send again to exit at once)`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
