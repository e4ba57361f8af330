// Child processes for benchmarks: each load generator, fake provider and Spendhouse runs in its own process
// so their CPU can be measured apart and none of them shares an event loop with another.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TsChild<M> {
  child: ChildProcess;
  pid: number;
  /** The first IPC message the child sent (its "ready" answer). */
  ready: M;
  stop(): void;
}

/** Forks a TypeScript module of bench/lib (through tsx) and waits for its first IPC message. */
export function forkTs<M>(moduleName: string, env: NodeJS.ProcessEnv = {}): Promise<TsChild<M>> {
  const child = fork(fileURLToPath(new URL(moduleName, import.meta.url)), [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) =>
      resolve({ child, pid: child.pid ?? 0, ready: ready as M, stop: () => void child.kill() }),
    );
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${moduleName} exited with ${code} before it was ready`)));
  });
}
