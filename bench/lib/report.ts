// Where results go: a JSON file per suite in bench/results/ (with the machine and its load at the time, since
// numbers from a shared 2-core box mean little without them) and a Markdown table on stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function writeResult(suite: string, result: object): string {
  const path = `bench/results/${suite}.json`;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(path, `${JSON.stringify({ suite, at: new Date().toISOString(), ...result }, null, 2)}\n`);
  return path;
}

type Cell = string | number | null | undefined;

/** A Markdown table; numeric columns are right-aligned. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] == null));
  const show = (c: Cell) => (c == null ? '–' : String(c));
  return [
    `| ${headers.join(' | ')} |`,
    `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${headers.map((_, i) => show(r[i])).join(' | ')} |`),
  ].join('\n');
}
