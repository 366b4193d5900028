/**
 * The server process a `tsgi serve --reload` supervisor starts (reload.ts):
 * the same command without the --reload flags.
 */
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
