// Starts a worker thread on one of our modules, from the built JavaScript or from the TypeScript sources
// (tsx): tsx's hooks registered on the main thread (bin/spendhouse.mjs) do not reach workers on Node 20, and
// the parent's execArgv (`--test`, `--inspect`) is not the worker's business, so from sources an eval'd
// bootstrap registers tsx first and then imports the module.
import { type ResourceLimits, Worker } from 'node:worker_threads';

/** `module`: the worker's module URL, relative to `base` (the caller's import.meta.url), without extension. */
export function startModuleWorker(base: string, module: string, resourceLimits?: ResourceLimits): Worker {
  const fromSources = base.endsWith('.ts');
  const entry = new URL(`${module}${fromSources ? '.ts' : '.js'}`, base);
  if (!fromSources) return new Worker(entry, { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true, execArgv: [], resourceLimits });
}
