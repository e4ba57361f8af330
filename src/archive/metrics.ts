// Prometheus view of the archive, following the ingest pattern: not registered anywhere by default; the
// /metrics owner registers `app.archiveMetrics` (values are read from the scheduler status at scrape time).
import { Gauge, type Metric } from 'prom-client';
import type { ArchiveStatus } from './scheduler.js';

export function createArchiveMetrics(status: ArchiveStatus): Metric[] {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [],
      collect() {
        this.set(read());
      },
    });
  return [
    gauge('spendhouse_archive_failing', '1 while archive passes fail (store unreachable, ClickHouse down)', () =>
      status.lastError === null ? 0 : 1,
    ),
    gauge(
      'spendhouse_archive_consecutive_failures',
      'Archive passes failed in a row',
      () => status.consecutiveFailures,
    ),
    gauge(
      'spendhouse_archive_windows_exported',
      'Windows this process exported since it started',
      () => status.windowsExported,
    ),
    gauge(
      'spendhouse_archive_windows_pending',
      'Closed windows waiting for export after the last pass',
      () => status.pending,
    ),
    gauge('spendhouse_archive_last_success_seconds', 'Unix time of the last successful archive pass', () =>
      status.lastSuccessAt ? Date.parse(status.lastSuccessAt) / 1000 : 0,
    ),
  ];
}
