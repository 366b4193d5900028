// Serves hello.mjs on the built pool server (dist/) for the benchmark; prints {"url": ...} once listening.
import { serve } from '@tsgi/pool';

const server = await serve(
  { module: new URL('./hello.mjs', import.meta.url).href },
  { port: Number(process.env.PORT ?? 0), threads: Number(process.env.THREADS ?? 2), accessLog: false, logLevel: 'warning' },
);
process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
