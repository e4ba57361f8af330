// Child-process plumbing shared by the local ClickHouse and Redis launchers.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';

export interface ManagedProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian packages for a missing server binary when we are root; otherwise explains what to do. */
export async function ensureBinary(binary: string, debianPackages: string[]): Promise<void> {
  await ensureInstalled(binary, () => onPath(binary), debianPackages);
}

/** Like ensureBinary, for anything a package provides (`present` says whether it is there). */
export async function ensureInstalled(what: string, present: () => boolean, debianPackages: string[]): Promise<void> {
  if (present()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      `${what} is not installed. Install it with \`sudo apt-get install -y ${debianPackages.join(' ')}\`, ` +
        'or point Spendhouse at running servers (CLICKHOUSE_URL, REDIS_URL), or run `docker compose up -d`.',
    );
  }
  console.error(`[spendhouse] ${what} not found: installing ${debianPackages.join(' ')} with apt-get (root)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', ...debianPackages], { stdio: 'inherit', env });
  if (!present()) throw new Error(`${what} still not found after installing ${debianPackages.join(' ')}`);
}

export function spawnManaged(command: string, args: string[], logFile: string): ManagedProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out] });
  let exited = child.exitCode !== null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  return {
    child,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitPromise;
      clearTimeout(killTimer);
    },
  };
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  proc: ManagedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (proc.child.exitCode !== null) throw new Error(`${what} exited with code ${proc.child.exitCode}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await proc.stop();
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s`);
}
