// Archive settings resolved from the config file: the `archive:` section plus LiteLLM's S3 callback
// (`litellm_settings.callbacks: ["s3"]` + `s3_callback_params`). Without S3 the archive goes to a local
// folder in the same layout, so `npm start` archives out of the box.
import { resolve } from 'node:path';
import type { FileConfig } from '../config/schema.js';

/** The spend_logs table's own files, as the archive reader queries them. */
export type SpendFormat = 'parquet' | 'jsonl';
/** FOCUS 1.2 rows of the same windows (src/archive/focus.ts). */
export type FocusFormat = 'focus_parquet' | 'focus_csv';
export type ArchiveFormat = SpendFormat | FocusFormat;
export const FOCUS_FORMATS: readonly FocusFormat[] = ['focus_parquet', 'focus_csv'];

export interface S3Target {
  kind: 's3';
  bucket: string;
  region: string;
  endpoint: string | null;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
}

export interface LocalTarget {
  kind: 'local';
  /** Absolute folder that plays the role of the bucket. */
  root: string;
}

export interface ArchiveSettings {
  enabled: boolean;
  formats: ArchiveFormat[];
  windowSeconds: number;
  settleSeconds: number;
  intervalSeconds: number;
  compression: 'zstd' | 'snappy';
  /** Key prefix without leading/trailing slashes ('' = bucket root). */
  prefix: string;
  target: S3Target | LocalTarget;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `15m`, `1h`, `1d` → seconds (the archive has no use for weeks or months). */
export function durationSeconds(text: string, path: string, min = 1): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  const unit = match ? UNIT_SECONDS[match[2] as string] : undefined;
  if (!match || unit === undefined || Number(match[1]) * unit < min) {
    throw new Error(`${path}: expected a duration like 30s, 15m or 1h, got ${JSON.stringify(text)}`);
  }
  return Number(match[1]) * unit;
}

function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

function s3Enabled(file: FileConfig): boolean {
  const ls = file.litellm_settings;
  const named = [...(ls.callbacks ?? []), ...(ls.success_callback ?? [])].includes('s3');
  return named && ls.s3_callback_params !== undefined;
}

export function resolveArchiveSettings(file: FileConfig, cwd = process.cwd()): ArchiveSettings {
  const section = file.archive;
  const windowSeconds = durationSeconds(section.window ?? '1h', 'archive.window');
  // Windows must tile an hour exactly: every window then sits inside one dt=/hour= partition.
  if (windowSeconds > 3600 || 3600 % windowSeconds !== 0 || windowSeconds % 60 !== 0) {
    throw new Error('archive.window: must divide one hour in whole minutes (5m, 10m, 15m, 20m, 30m or 1h)');
  }
  const params = file.litellm_settings.s3_callback_params;
  const useS3 = s3Enabled(file) && params !== undefined;
  const target: S3Target | LocalTarget =
    useS3 && params
      ? {
          kind: 's3',
          bucket: params.s3_bucket_name,
          region: params.s3_region_name ?? 'us-east-1',
          endpoint: params.s3_endpoint_url ?? null,
          // Custom endpoints (MinIO, s3rver, R2) usually want path-style addressing.
          forcePathStyle: params.s3_use_path_style ?? params.s3_endpoint_url !== undefined,
          credentials:
            params.s3_aws_access_key_id && params.s3_aws_secret_access_key
              ? { accessKeyId: params.s3_aws_access_key_id, secretAccessKey: params.s3_aws_secret_access_key }
              : null,
        }
      : { kind: 'local', root: resolve(cwd, section.local_path ?? '.data/archive/') };
  return {
    enabled: section.enabled ?? true,
    formats: [...new Set<ArchiveFormat>(section.formats ?? ['parquet', 'jsonl'])],
    windowSeconds,
    settleSeconds: durationSeconds(section.settle ?? '5m', 'archive.settle', 0),
    intervalSeconds: durationSeconds(section.interval ?? '5m', 'archive.interval'),
    compression: section.compression ?? 'zstd',
    prefix: normalizePrefix(section.prefix ?? params?.s3_path ?? ''),
    target,
  };
}

/** Where the archive lives, as a user would type it (also the manifest's destination key). */
export function describeTarget(settings: ArchiveSettings): string {
  const base =
    settings.target.kind === 's3'
      ? `s3://${settings.target.bucket}`
      : `file://${settings.target.root.replace(/\/+$/, '')}`;
  return settings.prefix ? `${base}/${settings.prefix}` : base;
}
