export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { describeError, exitOnStartupError, onShutdown } from './lifecycle';
export type { ShutdownOptions } from './lifecycle';
export { Backoff, raceTimeout, settlesWithin, sleep } from './timing';
export type { BackoffOptions } from './timing';
export { createGetOnlyApp, isRequestTarget, startHttpServer } from './http';
export type { GetOnlyAppOptions, GetRoutes, HttpServer, HttpServerOptions } from './http';
