export { createSyncRunner, DEFAULT_THREADS_PER_CORE } from './runner.js';
export {
  RequestBodyError,
  type CallOptions,
  type ClientSignal,
  type FunctionRef,
  type HandleOptions,
  type RequestBody,
  type ResponseSink,
  type SyncRunner,
  type SyncRunnerOptions,
} from './types.js';
export { AsyncToSyncTimeout, callAsyncBlocking } from './async-wait.js';
export { callContext, currentSignal, type CallContext } from './calls.js';
export { closeSharedRunner, configureSharedRunner, sharedRunner } from './shared.js';
