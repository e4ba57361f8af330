// Parent side of the load generator: one child process that runs LoadJobs one at a time, with its own CPU
// use sampled per job (on 2 cores the generator competes with the proxy, so its share is reported).
import { forkTs, type TsChild } from './children.js';
import type { LoadJob, LoadReport } from './loadJob.js';
import { ProcessSampler, type ProcessUsage } from './procStats.js';

export interface LoadGenerator {
  pid: number;
  run(job: LoadJob): Promise<LoadReport & { generator: ProcessUsage }>;
  stop(): void;
}

export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child: TsChild<string> = await forkTs('./loadGeneratorChild.ts');
  return {
    pid: child.pid,
    run(job) {
      const sampler = new ProcessSampler(child.pid);
      sampler.start();
      return new Promise((resolve, reject) => {
        child.child.once('message', (answer: { report?: LoadReport; error?: string }) => {
          const generator = sampler.stop();
          if (answer.report) resolve({ ...answer.report, generator });
          else reject(new Error(`load generator: ${answer.error}`));
        });
        child.child.send(job);
      });
    },
    stop: child.stop,
  };
}
