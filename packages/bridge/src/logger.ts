/** Where the bridge reports app errors: server-side only, never to the client. */
export interface BridgeLogger {
  error(message: string, error?: unknown): void;
  warn?(message: string): void;
}

/** The default logger: console.error / console.warn. */
export const consoleLogger: BridgeLogger = {
  error: (message, error) => (error === undefined ? console.error(message) : console.error(message, error)),
  warn: (message) => console.warn(message),
};
