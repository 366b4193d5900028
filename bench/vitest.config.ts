import { defineConfig } from 'vitest/config';

// The bench's own tests, runnable alone (`npx vitest run --config bench/vitest.config.ts`)
// until the root vitest.config.ts includes bench/test.
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { include: ['bench/test/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000, pool: 'forks' },
});
