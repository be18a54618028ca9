export { ConfigError } from './errors';
export { readEnvironment } from './environment';
export type { Environment, ReadEnvironmentOptions } from './environment';
export { loadApiConfig, loadProcessorConfig, parseVariables } from './config';
export type { ApiConfig, BroadcastTransport, LogLevel, ProcessorConfig } from './config';
export { integer, VARIABLES } from './variables';
export type { VariableName, VariableValue } from './variables';
export { redactCredentials } from './redact';
