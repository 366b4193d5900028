/**
 * @tsgi/bridge/deno on Deno (the pinned `deno` npm package): HTTP, lifespan
 * and WebSocket through hosts/deno-host.js, with real clients from Node.
 */
import { describeRuntimeHost } from './runtime-host.js';

describeRuntimeHost('deno');
