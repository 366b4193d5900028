export { createSyncRunner, DEFAULT_THREADS_PER_CORE } from './runner.js';
export { RequestBodyError, type ClientSignal, type HandleOptions, type RequestBody, type ResponseSink, type SyncRunner, type SyncRunnerOptions } from './types.js';
