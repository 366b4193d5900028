/**
 * @tsgi/bridge/bun on Bun (the pinned `bun` npm package): HTTP, lifespan and
 * WebSocket through hosts/bun-host.js, with real clients from Node.
 */
import { describeRuntimeHost } from './runtime-host.js';

describeRuntimeHost('bun');
