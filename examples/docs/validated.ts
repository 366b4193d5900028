import { validateAsgi } from '@tsgi/core';
import { app as hello } from './hello-async.js';

/**
 * The hello app wrapped in the ASGI-TS validator: every event either side
 * sends is checked against the spec, and a violation raises a ProtocolError
 * naming the broken clause (like wsgiref.validate, for both interfaces).
 */
export const app = validateAsgi(hello);
