/** @tsgi/cli: the `tsgi` command (`tsgi serve app.ts:app`), usable in-process through main(). */
export { main, version, type Io } from './main.js';
export { parseServeArgs, readLogConfig, serveUsage, type LogConfig, type ServeConfig } from './options.js';
export { detectInterface, checkInterface, INTERFACE_RULES, type AppInterface, type Detection } from './detect-interface.js';
export { parseAppSpec, loadApp, type AppSpec } from './load-app.js';
export { CliError } from './errors.js';
