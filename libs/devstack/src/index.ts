export { startDevstack } from './devstack';
export type { Devstack, StartDevstackOptions } from './devstack';
export { DevstackError } from './errors';
export type { DevstackErrorCode } from './errors';
export { devstackDir, findWorkspaceRoot, readState, waitForDevstack } from './state';
export type { DevstackState, WaitForDevstackOptions } from './state';
export type { DevstackUrls, Service, ServiceName, ServiceSource } from './services';
