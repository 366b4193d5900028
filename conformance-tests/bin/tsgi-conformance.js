#!/usr/bin/env node
// The tsgi-conformance command; runs the built dist/ (build with `npx tsc -b` from the repo root).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(e); process.exitCode = 2; },
);
