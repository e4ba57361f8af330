// The real CLI (bin/spendhouse.mjs) as a child process: run to its exit (code and output), or for tests that
// spawn `serve`, its output kept, a wait for the next line that matches, and the environment a `serve` child
// needs to use the test's own database and Redis key prefix (test/helpers/testApp.ts).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { AppConfig, Env } from '../../src/config/load.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'spendhouse.mjs');

export interface CliExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` in `env` (nothing else of the caller's environment) to its exit. */
export function runCliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<CliExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a `serve` child needs: the test's services, database and key prefix, any port, quiet logs. */
export function serveEnv(env: Env, config: AppConfig, masterKey: string, extra: Env = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...env,
    MASTER_KEY: masterKey,
    REDIS_KEY_PREFIX: config.redis.keyPrefix,
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/**
 * The CLI as a child, its output kept, with a wait for the next line that matches. `detached`: in a process
 * group of its own, so that the test can kill the whole group (`process.kill(-pid)`).
 */
export class Cli {
  readonly proc: ChildProcessWithoutNullStreams;
  output = '';
  private read = 0;

  constructor(args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}) {
    this.proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, detached: options.detached ?? false });
    const keep = (d: Buffer) => {
      this.output += d;
      this.proc.emit('output');
    };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
  }

  /** Resolves with the first match after the previous one; rejects if the process exits first. */
  next(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.output.slice(this.read));
        if (!match) return false;
        this.read += match.index + match[0].length;
        this.proc.off('output', check);
        this.proc.off('exit', exited);
        resolve(match);
        return true;
      };
      const exited = (code: number | null) => {
        if (check()) return;
        this.proc.off('output', check);
        reject(new Error(`exited ${code} before ${pattern}:\n${this.output}`));
      };
      if (check()) return;
      this.proc.on('output', check);
      this.proc.once('exit', exited);
    });
  }

  exit(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(this.proc.exitCode);
    return once(this.proc, 'exit').then(([code]) => code as number | null);
  }
}
