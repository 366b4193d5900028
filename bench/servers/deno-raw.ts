/** Deno.serve answering hello world by hand: Deno's own HTTP server, without any adapter; run by deno. */
import { exitOnSignal, PORT } from './env.js';

interface DenoServe {
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: (request: Request) => Response): { shutdown(): Promise<void> };
}
const Deno = (globalThis as unknown as { Deno: DenoServe }).Deno;

const server = Deno.serve({ port: PORT, hostname: '127.0.0.1', onListen: () => {} }, () => new Response('Hello, world!', { headers: { 'content-type': 'text/plain' } }));
exitOnSignal(() => server.shutdown());
