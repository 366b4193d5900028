// Runs the CLI from its TypeScript source (tests spawn this with --import tsx and the "source" condition).
import { main } from '../../src/main.js';

process.exit(await main(process.argv.slice(2)));
