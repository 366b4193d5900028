/**
 * Where the bridge reports app errors: server-side only, never to the
 * client. The method names are those of the @tsgi/uws and @tsgi/pool
 * loggers (uvicorn's levels), so a server's logger can be passed as is.
 */
export interface BridgeLogger {
  error(message: string, error?: unknown): void;
  warning?(message: string): void;
}

/** The default logger: console.error / console.warn. */
export const consoleLogger: BridgeLogger = {
  error: (message, error) => (error === undefined ? console.error(message) : console.error(message, error)),
  warning: (message) => console.warn(message),
};
