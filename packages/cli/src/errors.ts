/**
 * The one error type the CLI turns into a message and an exit code, so that
 * every way of failing ends with a single line naming the problem.
 */

/** Exit codes, as uvicorn uses them. */
export const EXIT_OK = 0;
/** Anything else that went wrong while running (e.g. the port is taken). */
export const EXIT_FAILURE = 1;
/** Bad flags, or an app that cannot be found or is not an app. */
export const EXIT_USAGE = 2;
/** The app's lifespan startup failed (uvicorn's STARTUP_FAILURE). */
export const EXIT_STARTUP_FAILED = 3;

/** A failure the user can fix: printed as one line, then the process exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.exitCode = exitCode;
  }
}
