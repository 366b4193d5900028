/**
 * The system tools some tests need (reference servers, proxies, load
 * generators, a browser), each from a Debian package of scripts/system-deps.txt.
 * The test command installs them first (scripts/install-system-deps.sh, when
 * it runs as root or with sudo and apt); where it could not, a test that
 * needs a missing tool is skipped and says why. Under CI (CI=true), where the
 * install runs as root, a missing tool is a failure instead: a skip there
 * would hide a broken install step.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const onPath = (command: string) => () => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
/** Debian's Python, where the python3-* packages live (a pyenv python3 first on PATH would not see them). */
const pythonModules = (...modules: string[]) => () =>
  existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' }).status === 0;

/** Each tool: how to tell it is there, and the Debian packages that bring it. */
const TOOLS = {
  nginx: { present: onPath('nginx'), packages: ['nginx'] },
  haproxy: { present: onPath('haproxy'), packages: ['haproxy'] },
  ab: { present: onPath('ab'), packages: ['apache2-utils'] },
  h2load: { present: onPath('h2load'), packages: ['nghttp2-client'] },
  nghttp: { present: onPath('nghttp'), packages: ['nghttp2-client'] },
  curl: { present: onPath('curl'), packages: ['curl'] },
  openssl: { present: onPath('openssl'), packages: ['openssl'] },
  wrk: { present: onPath('wrk'), packages: ['wrk'] },
  valgrind: { present: onPath('valgrind'), packages: ['valgrind'] },
  ss: { present: onPath('ss'), packages: ['iproute2'] },
  chromium: { present: () => existsSync('/usr/bin/chromium'), packages: ['chromium'] },
  gunicorn: { present: () => existsSync('/usr/bin/gunicorn'), packages: ['gunicorn'] },
  uvicorn: { present: pythonModules('uvicorn', 'httptools', 'websockets'), packages: ['python3-uvicorn', 'python3-httptools', 'python3-websockets'] },
  hypercorn: { present: pythonModules('hypercorn'), packages: ['python3-hypercorn'] },
} satisfies Record<string, { present: () => boolean; packages: string[] }>;

export type Tool = keyof typeof TOOLS;

export interface ToolCheck {
  /** True when a tool is missing (never under CI: there it throws). */
  skip: boolean;
  /** '' when all are there, else ` (skipped: missing Debian packages …)`, to append to a describe's name. */
  note: string;
}

/**
 * Checks that `tools` are installed. When one is missing: under CI it throws,
 * elsewhere it prints the reason and returns `skip: true` for describe.skipIf.
 */
export function needTools(file: string, ...tools: Tool[]): ToolCheck {
  const missing = [...new Set(tools.filter((t) => !TOOLS[t].present()).flatMap((t) => TOOLS[t].packages))];
  if (missing.length === 0) return { skip: false, note: '' };
  const reason = `missing Debian packages: ${missing.join(' ')} (scripts/install-system-deps.sh installs them; the test command runs it, but it needs root or sudo and apt)`;
  if (process.env.CI) throw new Error(`${file}: ${reason}`);
  console.warn(`SKIPPED ${file}: ${reason}`);
  return { skip: true, note: ` (skipped: ${reason})` };
}
