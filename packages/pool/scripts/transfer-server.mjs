// Serves transfer-app.mjs on the built pool server (dist/) in its own
// process, so its RSS can be measured alone. Prints {"url": ...} once
// listening; closes gracefully on SIGTERM.
import { serve } from '@tsgi/pool';

const server = await serve(
  { module: new URL('./transfer-app.mjs', import.meta.url).href },
  { port: 0, threads: Number(process.env.THREADS ?? 1), accessLog: false, logLevel: 'warning' },
);
process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
