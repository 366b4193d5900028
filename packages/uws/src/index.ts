/** @tsgi/uws: the event-loop server for ASGI-TS apps on uWebSockets.js. */
export { serve, HTTP_EXTENSIONS } from './server.js';
export type { ServeOptions } from './options.js';
export { loadBinding, isNativeBinding, canSharePort, type LoadedBinding } from './binding.js';
