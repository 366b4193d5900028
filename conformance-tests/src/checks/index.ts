/** Every check of the suite, in the order they run. */
import type { Check } from '../check.js';
import { asgiHttpChecks } from './asgi-http.js';
import { asgiWebSocketChecks } from './asgi-websocket.js';
import { http2Checks } from './http2.js';
import { httpWireChecks } from './http-wire.js';
import { wsgiChecks } from './wsgi.js';

export { asgiHttpChecks, asgiWebSocketChecks, http2Checks, httpWireChecks, wsgiChecks };

/** The whole suite; ids are unique (the suite's own test asserts it). */
export const allChecks: Check[] = [...httpWireChecks, ...asgiHttpChecks, ...asgiWebSocketChecks, ...wsgiChecks];
