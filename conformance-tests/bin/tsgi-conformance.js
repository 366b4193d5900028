#!/usr/bin/env node
// The tsgi-conformance command; runs the built dist/ (build with `npx tsc -b` from the repo root).
import { main } from '../dist/cli.js';

// A reader that goes away (`| head`) must not kill the run before the server is stopped.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(e); process.exitCode = 2; },
);
