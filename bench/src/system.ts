/**
 * What the benchmark needs from the system (wrk, taskset, the Python servers
 * from Debian's packages), installed with apt-get when missing, and what it
 * records about the machine next to every result.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

/** Debian's Python, where the python3-* packages live (a pyenv python3 on PATH would not see them). */
export const PYTHON = '/usr/bin/python3';

/** A system tool and the Debian package that provides it. */
export interface Requirement {
  package: string;
  present: () => boolean;
}

const onPath = (cmd: string) => () => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const pythonModule = (module: string) => () => spawnSync(PYTHON, ['-c', `import ${module}`]).status === 0;

const BASE: Requirement[] = [
  { package: 'wrk', present: onPath('wrk') },
  { package: 'nghttp2-client', present: onPath('h2load') },
  // The TLS scenario's certificate is made at run time (tls-cert.ts).
  { package: 'openssl', present: onPath('openssl') },
  { package: 'util-linux', present: onPath('taskset') },
];
const PYTHON_SERVERS: Requirement[] = [
  { package: 'python3-uvicorn', present: pythonModule('uvicorn') },
  { package: 'python3-httptools', present: pythonModule('httptools') },
  { package: 'python3-uvloop', present: pythonModule('uvloop') },
  { package: 'python3-websockets', present: pythonModule('websockets') },
  { package: 'gunicorn', present: onPath('gunicorn') },
  { package: 'python3-waitress', present: onPath('waitress-serve') },
];

/** valgrind, for `bench:instructions` (instructions.ts). */
export const VALGRIND: Requirement[] = [{ package: 'valgrind', present: onPath('callgrind_control') }];

/** Installs (apt-get, saying so) whichever of the needed Debian packages are missing; returns what it installed. */
export function ensureSystemPackages(withPython: boolean, install: boolean, extra: Requirement[] = []): string[] {
  const missing = [...BASE, ...(withPython ? PYTHON_SERVERS : []), ...extra].filter((r) => !r.present()).map((r) => r.package);
  if (missing.length === 0) return [];
  if (!install) throw new Error(`missing Debian packages: ${missing.join(' ')} (run without --no-install, or apt-get install them)`);
  console.log(`bench: installing missing Debian packages with apt-get: ${missing.join(' ')}`);
  const aptInstall = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (aptInstall().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    if (aptInstall().status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
  }
  return missing;
}

function quiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** The machine and software a result was measured on. */
export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started (other jobs on a shared machine make figures noisy). */
  loadAverageAtStart: number;
  versions: Record<string, string>;
}

/** Describes this machine and the versions of the servers under test. */
export function machineInfo(withPython: boolean): MachineInfo {
  const versions: Record<string, string> = { wrk: quiet('dpkg-query', ['-W', '-f', '${Version}', 'wrk']) };
  if (withPython) {
    versions.python = quiet(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])']);
    for (const name of ['uvicorn', 'httptools', 'uvloop', 'websockets', 'gunicorn', 'waitress']) {
      versions[name] = quiet('dpkg-query', ['-W', '-f', '${Version}', `python3-${name}`]);
    }
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
    versions,
  };
}
