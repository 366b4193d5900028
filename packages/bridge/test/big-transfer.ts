/**
 * Big transfers through the bridge under @tsgi/uws, with the server in a
 * child process whose RSS is sampled: a streamed upload read by the app in
 * 64 KiB steps, then a streamed download of the same size. Used by the
 * suite (256 MiB) and by scripts/big-transfer.ts (1 GiB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface TransferReport {
  via: 'wsgi' | 'fetch';
  /** Worker threads of the sync app (wsgi only). */
  threads: number;
  bytes: number;
  uploadMiBps: number;
  downloadMiBps: number;
  /** Highest server RSS seen, MiB. */
  peakRssMiB: number;
  /** Highest server RSS during the upload, and during the download, MiB. */
  uploadPeakRssMiB: number;
  downloadPeakRssMiB: number;
  /** Server RSS when idle before the transfers, MiB. */
  idleRssMiB: number;
}

// Runs from dist/ (build first: npx tsc -b), as a deployed server would, not through tsx.
const SERVER = fileURLToPath(new URL('./fixtures/serve-bridge.mjs', import.meta.url));

/** Starts the bridge server in a child process; resolves with its URL. */
export async function startServer(via: 'wsgi' | 'fetch', threads = 2): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SERVER, via], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, THREADS: String(threads) } });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the bridge server exited with ${code} before listening`)));
  });
  lines.close();
  return { url: (JSON.parse(first) as { url: string }).url, child };
}

/** Stops the child server (SIGTERM, graceful) and waits for it. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Samples the RSS of `pid` every 50 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the process is gone
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

// uWebSockets.js v20.30 drops a request whose Content-Length has 10 digits or more (>= 1e9 bytes):
// bigger uploads go chunked, which it streams fine.
const MAX_UWS_CONTENT_LENGTH = 999_999_999;

/** POSTs `total` bytes in 256 KiB writes, respecting the socket's backpressure; resolves with the response text. */
function upload(url: string, path: string, total: number): Promise<string> {
  const chunk = new Uint8Array(256 * 1024).map((_, i) => i % 251);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (total <= MAX_UWS_CONTENT_LENGTH) headers['content-length'] = String(total);
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`upload answered ${res.statusCode}: ${text}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.byteLength, total - sent);
        sent += n;
        if (!req.write(n === chunk.byteLength ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** GETs `path` and counts the body bytes without keeping them. */
function download(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${url}${path}`, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.byteLength));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Runs the upload then the download of `bytes` through the bridge; reports throughput and peak server RSS. */
export async function bigTransfer(via: 'wsgi' | 'fetch', bytes: number, options: { threads?: number } = {}): Promise<TransferReport> {
  const threads = options.threads ?? 2;
  const { url, child } = await startServer(via, threads);
  try {
    // Warm up (thread start, JIT) so the idle figure is the server's steady state.
    await download(url, '/stream?chunks=4&size=65536');
    const idleRssMiB = rssMiB(child.pid!);
    let sampler = sampleRss(child.pid!);
    let t0 = performance.now();
    const answer = JSON.parse(await upload(url, '/upload', bytes)) as { bytes: number };
    const uploadMs = performance.now() - t0;
    const uploadPeakRssMiB = sampler.stop();
    sampler = sampleRss(child.pid!);
    if (answer.bytes !== bytes) throw new Error(`the app read ${answer.bytes} of ${bytes} uploaded bytes`);
    const size = 65536;
    t0 = performance.now();
    const got = await download(url, `/stream?chunks=${Math.ceil(bytes / size)}&size=${size}`);
    const downloadMs = performance.now() - t0;
    if (got !== Math.ceil(bytes / size) * size) throw new Error(`downloaded ${got} bytes, expected ${bytes}`);
    const downloadPeakRssMiB = sampler.stop();
    const mib = bytes / (1 << 20);
    return {
      via,
      threads,
      bytes,
      uploadMiBps: Math.round((mib / uploadMs) * 1000),
      downloadMiBps: Math.round((mib / downloadMs) * 1000),
      peakRssMiB: Math.round(Math.max(uploadPeakRssMiB, downloadPeakRssMiB)),
      uploadPeakRssMiB: Math.round(uploadPeakRssMiB),
      downloadPeakRssMiB: Math.round(downloadPeakRssMiB),
      idleRssMiB: Math.round(idleRssMiB),
    };
  } finally {
    await stopServer(child);
  }
}
