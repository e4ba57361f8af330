// Periodic operational checks that raise alerts: ingest lag over the threshold, dead letters present, the
// archive failing. Every instance may run them: the notifier's SET NX sends each alert once per window.
import type { AlertEvent } from './notifier.js';

export interface OperationalState {
  /** Age of the oldest queued spend batch, seconds. */
  ingestLagSeconds(): Promise<number>;
  deadLetterCount(): Promise<number>;
  /** The archive's last error, or null when it is healthy or not running here. */
  archiveError(): string | null;
}

export async function operationalAlerts(state: OperationalState, lagThresholdSeconds: number): Promise<AlertEvent[]> {
  const alerts: AlertEvent[] = [];
  const [lag, deadLetters] = await Promise.all([state.ingestLagSeconds(), state.deadLetterCount()]);
  if (lag > lagThresholdSeconds) {
    alerts.push({
      event: 'ingest_lag',
      subject: 'ingest',
      text: `Spend ingest is lagging: the oldest queued record is ${Math.round(lag)} s old (threshold ${lagThresholdSeconds} s)`,
      fields: { lag_seconds: Math.round(lag), threshold_seconds: lagThresholdSeconds },
    });
  }
  if (deadLetters > 0) {
    alerts.push({
      event: 'dead_letters_present',
      subject: 'dlq',
      text: `${deadLetters} spend record(s) are in the dead-letter queue (npm run dlq -- list)`,
      fields: { dead_letters: deadLetters },
    });
  }
  const archiveError = state.archiveError();
  if (archiveError !== null) {
    alerts.push({
      event: 'archive_failing',
      subject: 'archive',
      text: `Archive passes are failing: ${archiveError}`,
      fields: { error: archiveError },
    });
  }
  return alerts;
}
