// GET /spend/anomalies (admin only): the anomalous days or hours in a window, per team, key, model and tag.
// granularity=day (default; window default the last 7 complete days, at most 31) or hour (default the last
// 24 complete hours, at most 48); dimension=team|key|model|tag (default all four); from / to as the query
// API takes them, read in UTC. Buckets not yet complete are never judged.
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import { badRequest } from '../errors.js';
import { checkWindowRange, parseTime } from '../query/time.js';
import { ANOMALY_DIMENSIONS, ANOMALY_GRANULARITIES, type AnomalyDimension, type AnomalyGranularity } from './series.js';
import { type AnomalySettings, findAnomalies } from './service.js';
import { ANOMALY_WINDOWS, anomalyBuckets } from './window.js';

const KNOWN = ['granularity', 'dimension', 'from', 'to'];
const DEFAULT_FROM: Record<AnomalyGranularity, string> = { day: '-7d', hour: '-24h' };

function text(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value !== undefined && typeof value !== 'string') throw badRequest(name, 'give it once, as text');
  return value;
}

function oneOf<T extends string>(query: Record<string, unknown>, name: string, allowed: readonly T[]): T | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value);
  if (!found) throw badRequest(name, `one of ${allowed.join(', ')}`);
  return found;
}

export interface AnomalyRequest {
  granularity: AnomalyGranularity;
  dimensions: AnomalyDimension[];
  /** Bucket starts to judge (epoch ms). */
  targets: number[];
}

export function parseAnomalyRequest(query: Record<string, unknown>, nowMs = Date.now()): AnomalyRequest {
  for (const name of Object.keys(query)) {
    if (!KNOWN.includes(name)) throw badRequest(name, `unknown parameter (${KNOWN.join(', ')} are known)`);
  }
  const granularity = oneOf(query, 'granularity', ANOMALY_GRANULARITIES) ?? 'day';
  const dimension = oneOf(query, 'dimension', ANOMALY_DIMENSIONS);
  const { sizeMs: size, maxBuckets: max } = ANOMALY_WINDOWS[granularity];
  const fromMs = parseTime(text(query, 'from') ?? DEFAULT_FROM[granularity], 'from', 'UTC', nowMs);
  const toMs = parseTime(text(query, 'to') ?? 'now', 'to', 'UTC', nowMs);
  checkWindowRange({ fromMs, toMs });
  if (toMs <= fromMs) throw badRequest('to', '`to` must be after `from`');
  const { first, count } = anomalyBuckets(granularity, fromMs, toMs, nowMs);
  if (count > max) throw badRequest('from', `at most ${max} ${granularity}s at once`);
  return {
    granularity,
    dimensions: dimension ? [dimension] : [...ANOMALY_DIMENSIONS],
    targets: Array.from({ length: count }, (_, i) => first + i * size),
  };
}

export async function anomalyRoutes(app: FastifyInstance, opts: { settings: AnomalySettings }): Promise<void> {
  app.get('/spend/anomalies', async (request) => {
    await requireAdmin(app, request);
    const asked = parseAnomalyRequest(request.query as Record<string, unknown>);
    const anomalies = await findAnomalies(
      app.warehouse,
      opts.settings,
      asked.granularity,
      asked.dimensions,
      asked.targets,
    );
    return {
      granularity: asked.granularity,
      buckets: asked.targets.map((t) => new Date(t).toISOString()),
      z_threshold: opts.settings.thresholds.zThreshold,
      anomalies,
    };
  });
}
