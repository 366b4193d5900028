import { defineConfig } from 'vitest/config';

// Tests run against each package's TypeScript source (the "source" export
// condition), so they never depend on a stale dist/ build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'conformance-tests/test/**/*.test.ts', 'examples/test/**/*.test.ts', 'reliability/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
