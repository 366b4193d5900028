/** Bun.serve answering hello world by hand: Bun's own HTTP server, without any adapter; run by bun. */
import { exitOnSignal, PORT } from './env.js';

interface BunServe {
  serve(options: { port: number; hostname: string; fetch(request: Request): Response }): { stop(): void };
}
const Bun = (globalThis as unknown as { Bun: BunServe }).Bun;

const server = Bun.serve({ port: PORT, hostname: '127.0.0.1', fetch: () => new Response('Hello, world!', { headers: { 'content-type': 'text/plain' } }) });
exitOnSignal(() => server.stop());
