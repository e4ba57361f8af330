// CPU and memory of another process, read from /proc (Linux only). CPU% = (Δutime + Δstime) in clock ticks
// / CLK_TCK / Δwall-seconds × 100, so 100% is one full core and 200% both cores of this machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** utime + stime in clock ticks from the text of /proc/<pid>/stat (fields 14 and 15). */
export function cpuTicksFromStat(stat: string): number {
  // The command name (field 2) is in parentheses and may itself contain spaces or ')': split after the last.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size in bytes from the text of /proc/<pid>/status (the VmRSS line, in kB). */
export function rssBytesFromStatus(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export function cpuPercent(ticksBefore: number, ticksAfter: number, wallMs: number, ticksPerSecond: number): number {
  if (wallMs <= 0) return 0;
  return Math.round(((ticksAfter - ticksBefore) / ticksPerSecond / (wallMs / 1000)) * 1000) / 10;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcessUsage {
  cpuPct: number;
  rssMaxMb: number;
}

/** Samples one process from `start()` to `stop()`: average CPU over the span, peak RSS every 250 ms. */
export class ProcessSampler {
  private ticks0 = 0;
  private wall0 = 0;
  private rssMax = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  private read(file: 'stat' | 'status'): string {
    return readFileSync(`/proc/${this.pid}/${file}`, 'utf8');
  }

  private sampleRss(): void {
    try {
      this.rssMax = Math.max(this.rssMax, rssBytesFromStatus(this.read('status')));
    } catch {
      // the process ended between samples; the peak so far stands
    }
  }

  start(): void {
    this.ticks0 = cpuTicksFromStat(this.read('stat'));
    this.wall0 = performance.now();
    this.rssMax = 0;
    this.sampleRss();
    this.timer = setInterval(() => this.sampleRss(), 250);
  }

  stop(): ProcessUsage {
    clearInterval(this.timer);
    this.sampleRss();
    const ticks = cpuTicksFromStat(this.read('stat'));
    return {
      cpuPct: cpuPercent(this.ticks0, ticks, performance.now() - this.wall0, ticksPerSecond()),
      rssMaxMb: Math.round(this.rssMax / 1024 / 102.4) / 10,
    };
  }
}
