// Where archive objects go: an S3 bucket (any S3-protocol server) or a local folder with the same key
// layout. Both return the MD5 ETag of what they stored, so "re-export changed nothing" is checkable.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { LocalTarget, S3Target } from './settings.js';

export interface ArchiveStore {
  /** `s3://bucket` or `file:///abs/folder`. */
  readonly location: string;
  put(key: string, body: Buffer, contentType: string): Promise<{ etag: string }>;
  get(key: string): Promise<Buffer | null>;
  /** Every key under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  close(): void;
}

function md5(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

export class S3Store implements ArchiveStore {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly target: S3Target) {
    this.location = `s3://${target.bucket}`;
    const options: S3ClientConfig = {
      region: target.region,
      forcePathStyle: target.forcePathStyle,
      // The exporter retries whole windows with backoff; the SDK's own retries cover brief blips.
      maxAttempts: 2,
      // Checksums only where S3 requires them: S3-compatible servers (MinIO, R2, s3rver) differ on the
      // newer default trailers; every PUT carries Content-MD5 instead, which all of them verify.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (target.endpoint) options.endpoint = target.endpoint;
    if (target.credentials) options.credentials = target.credentials;
    this.client = new S3Client(options);
  }

  async put(key: string, body: Buffer, contentType: string): Promise<{ etag: string }> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.target.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentMD5: createHash('md5').update(body).digest('base64'),
      }),
    );
    return { etag: (out.ETag ?? md5(body)).replaceAll('"', '') };
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.target.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  close(): void {
    this.client.destroy();
  }
}

export class LocalStore implements ArchiveStore {
  readonly location: string;

  constructor(private readonly target: LocalTarget) {
    this.location = `file://${target.root}`;
  }

  private pathOf(key: string): string {
    const path = join(this.target.root, ...key.split('/'));
    if (relative(this.target.root, path).startsWith('..')) throw new Error(`archive key escapes the folder: ${key}`);
    return path;
  }

  async put(key: string, body: Buffer): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Write beside and rename: a reader (DuckDB, a sync job) never sees half a file.
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temp, body);
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return { etag: md5(body) };
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const root = this.target.root;
    let entries: string[];
    try {
      entries = await readdir(root, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries
      .map((p) => p.split(sep).join('/'))
      .filter((key) => key.startsWith(prefix) && !key.endsWith('.tmp') && /\.[a-z]+(\.gz)?$/.test(key))
      .sort();
  }

  close(): void {}
}

export function openStore(target: S3Target | LocalTarget): ArchiveStore {
  return target.kind === 's3' ? new S3Store(target) : new LocalStore(target);
}
