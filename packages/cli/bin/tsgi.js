#!/usr/bin/env node
// The `tsgi` command. It runs the built CLI (dist/): `pnpm run build` (tsc -b) makes it.
import { main } from '../dist/main.js';

// Exit explicitly: once the server is closed nothing is left to wait for.
process.exit(await main(process.argv.slice(2)));
