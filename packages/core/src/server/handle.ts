/**
 * What every tsgi server hands back from `serve()`, so the CLI, tests and
 * benchmarks can drive @tsgi/uws and @tsgi/pool the same way.
 */

/** Where a server listens: a TCP host and port, or a unix socket path. */
export type ServerAddress = { host: string; port: number } | { path: string };

/** A running server. */
export interface ServerHandle {
  readonly address: ServerAddress;
  /** `http://host:port` for TCP, `unix:/path` for a unix socket. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to the graceful timeout), runs lifespan shutdown. */
  close(): Promise<void>;
  /**
   * With workers > 1: replaces the workers one at a time with fresh ones that
   * import the app again (gunicorn's SIGHUP), each new worker listening
   * before the old one drains. Absent on a server without workers.
   */
  restartWorkers?(): Promise<void>;
}

/** A module reference for apps that must be loaded by path (spec wsgi.loading.module.1). */
export interface ModuleRef {
  /** file: URL or absolute path of the module. */
  module: string;
  /** Export name; defaults to `app`. */
  exportName?: string;
  /** The export is a factory: a function (sync or async) called with no arguments that returns the app (uvicorn's --factory). */
  factory?: boolean;
}
