// CPU and memory of another process, read from /proc (Linux only). CPU% = (Δutime + Δstime) in clock ticks
// / CLK_TCK / Δwall-seconds × 100, so 100% is one full core and 200% both cores of this machine.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

/** Busy and total jiffies of the whole machine from the first line of /proc/stat (idle + iowait are idle). */
export function machineTicksFromStat(stat: string): { busy: number; total: number } {
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Socket inodes listening on `port` (IPv4 or IPv6) in the text of /proc/net/tcp or tcp6. */
export function listeningInodes(netTcp: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return netTcp
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') // 0A = LISTEN
    .map((f) => f[9] ?? '');
}

/**
 * The pid of the process listening on a local TCP port (redis-server, clickhouse-server), or null when it
 * cannot be seen (another user's process, or not Linux). Part of the system under test: their CPU counts.
 */
export function pidListeningOn(port: number): number | null {
  let inodes: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      inodes = inodes.concat(listeningInodes(readFileSync(file, 'utf8'), port));
    } catch {
      // no IPv6 table
    }
  }
  const sockets = new Set(inodes.map((inode) => `socket:[${inode}]`));
  if (!sockets.size) return null;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (sockets.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid);
      } catch {
        // the fd closed meanwhile
      }
    }
  }
  return null;
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
  /** CPU time used over the span, ms (user + system). */
  cpuMs: number;
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
    let ticks = this.ticks0;
    try {
      ticks = cpuTicksFromStat(this.read('stat'));
    } catch {
      // the process ended during the span: its CPU is unknown, reported as 0
    }
    return {
      cpuPct: cpuPercent(this.ticks0, ticks, performance.now() - this.wall0, ticksPerSecond()),
      cpuMs: Math.round(((ticks - this.ticks0) / ticksPerSecond()) * 1000),
      rssMaxMb: Math.round(this.rssMax / 1024 / 102.4) / 10,
    };
  }
}

/** Whole-machine CPU over a span, in % of one core (200% = both cores of a 2-core machine busy). */
export class MachineSampler {
  private start0 = { busy: 0, total: 0 };

  start(): void {
    this.start0 = machineTicksFromStat(readFileSync('/proc/stat', 'utf8'));
  }

  stop(cores: number): number {
    const now = machineTicksFromStat(readFileSync('/proc/stat', 'utf8'));
    const total = now.total - this.start0.total;
    return total > 0 ? Math.round(((now.busy - this.start0.busy) / total) * cores * 1000) / 10 : 0;
  }
}
