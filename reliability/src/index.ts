/** @tsgi/reliability: the hostile-request corpus, fault apps and harness used by the reliability and security tests. */
export * from './raw-exchange.js';
export * from './record.js';
export * from './servers.js';
export { HOSTILE_REQUESTS, bytesOf, type HostileRequest } from '../corpus/hostile-requests.js';
export * from './load.js';
export * from './cli-process.js';
export * from './fuzz.js';
