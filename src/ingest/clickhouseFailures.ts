// Which ClickHouse failures the worker waits out, and which are a refusal of the rows themselves.
//
// An ALLOW-LIST of transient failures: everything listed is retried (capped backoff, forever, reported as an
// outage by readiness); any other refusal is blamed on the rows, which are bisected until each refused row
// stands alone in the dead-letter queue with ClickHouse's reason. A deny-list of "data" codes (the old rule)
// retried every code it did not know — one lone surrogate (Code 25, not on it) jammed ingest for good.
//
// Listed: failures that cannot depend on what the rows hold — the network, timeouts, overload, parts and
// memory pressure, and the server's state (a table or database not there yet or read-only while it starts
// or migrates, credentials and quotas, replication/keeper trouble). A refusal that refuses *every* row with
// a code not listed here (a server-wide misconfiguration we did not foresee) is therefore dead-lettered row
// by row: nothing is lost (`npm run dlq -- replay` once fixed) and nothing an attacker sends can hold the
// queue, which is the property that matters; the dead-letter count (status, /metrics) is the alarm.
import { ClickHouseError } from '@clickhouse/client';
import { InsertError } from './coalescer.js';

/** ClickHouse codes (src/Common/ErrorCodes.cpp; the same numbers on 18.16 and current servers). */
const TRANSIENT_CODES: ReadonlyMap<number, string> = new Map([
  // the network and time
  [159, 'TIMEOUT_EXCEEDED'],
  [160, 'TOO_SLOW'],
  [198, 'DNS_ERROR'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [95, 'CANNOT_READ_FROM_SOCKET'],
  [96, 'CANNOT_WRITE_TO_SOCKET'],
  [279, 'ALL_CONNECTION_TRIES_FAILED'],
  [297, 'SHARD_HAS_NO_CONNECTIONS'],
  [1000, 'POCO_EXCEPTION'],
  // a remote shard or replica lost in the middle of a distributed insert. Not 3, 32 or 33 (end of file, read
  // after EOF, cannot read all data): a truncated JSONEachRow row gets exactly those on an HTTP insert
  // (checked on 18.16), so they stay refusals of the rows — a jam is worse than a replica's rows bisected.
  [97, 'UNEXPECTED_PACKET_FROM_CLIENT'],
  [100, 'UNKNOWN_PACKET_FROM_SERVER'],
  [101, 'UNEXPECTED_PACKET_FROM_SERVER'],
  [102, 'UNEXPECTED_PACKET_FROM_SERVER'],
  [265, 'NO_AVAILABLE_REPLICA'],
  [369, 'ALL_REPLICAS_ARE_STALE'],
  [415, 'ALL_REPLICAS_LOST'],
  [519, 'NO_AVAILABLE_DATA'],
  // the server's disks and locks
  [74, 'CANNOT_READ_FROM_FILE_DESCRIPTOR'],
  [75, 'CANNOT_WRITE_TO_FILE_DESCRIPTOR'],
  [76, 'CANNOT_OPEN_FILE'],
  [172, 'CANNOT_CREATE_DIRECTORY'],
  [204, 'CANNOT_FSYNC'],
  [384, 'PART_IS_TEMPORARILY_LOCKED'],
  [473, 'DEADLOCK_AVOIDED'],
  [499, 'S3_ERROR'],
  // load
  [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  [203, 'NO_FREE_CONNECTION'],
  [252, 'TOO_MANY_PARTS'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [173, 'CANNOT_ALLOCATE_MEMORY'],
  [439, 'CANNOT_SCHEDULE_TASK'],
  [243, 'NOT_ENOUGH_SPACE'],
  [574, 'DISTRIBUTED_TOO_MANY_PENDING_BYTES'],
  [745, 'SERVER_OVERLOADED'],
  [749, 'TCP_CONNECTION_LIMIT_REACHED'],
  [762, 'HTTP_CONNECTION_LIMIT_REACHED'],
  [777, 'MEMORY_RESERVATION_KILLED'],
  [778, 'MEMORY_RESERVATION_FAILED'],
  [236, 'ABORTED'],
  [394, 'QUERY_WAS_CANCELLED'],
  // the server's state: starting, migrating, read-only, credentials, quotas
  [60, 'UNKNOWN_TABLE'],
  [81, 'UNKNOWN_DATABASE'],
  [218, 'TABLE_IS_DROPPED'],
  [164, 'READONLY'],
  [242, 'TABLE_IS_READ_ONLY'],
  [774, 'TABLE_IS_PERMANENTLY_READ_ONLY'],
  [192, 'UNKNOWN_USER'],
  [193, 'WRONG_PASSWORD'],
  [194, 'REQUIRED_PASSWORD'],
  [516, 'AUTHENTICATION_FAILED'],
  [720, 'USER_EXPIRED'],
  [291, 'DATABASE_ACCESS_DENIED'],
  [497, 'ACCESS_DENIED'],
  [201, 'QUOTA_EXCEEDED'],
  // replication and keeper
  [225, 'NO_ZOOKEEPER'],
  [244, 'UNEXPECTED_ZOOKEEPER_ERROR'],
  [999, 'KEEPER_EXCEPTION'],
  [254, 'NO_ACTIVE_REPLICAS'],
  [285, 'TOO_FEW_LIVE_REPLICAS'],
  [286, 'UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE'],
  [289, 'REPLICA_IS_NOT_IN_QUORUM'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'],
  [425, 'SYSTEM_ERROR'],
]);

/**
 * The server's error code. Current servers' errors parse into ClickHouseError; 18.16 writes
 * `Code: 395, e.displayText() = …`, which the client leaves as a plain Error with that message.
 */
export function clickhouseErrorCode(err: unknown): number | null {
  const cause = err instanceof InsertError ? err.original : err;
  if (cause instanceof ClickHouseError) return Number(cause.code);
  const match = cause instanceof Error ? /^Code: (\d+)[.,]/.exec(cause.message) : null;
  return match ? Number(match[1]) : null;
}

/**
 * True when the failure is on the allow-list: wait and send again. Without a ClickHouse code the failure
 * never reached ClickHouse's parser (connection refused/reset, socket hang up, client timeout, a 5xx from
 * a proxy in front of it, Redis failing to record the query id): transient. An `Unknown field` means our
 * rows are newer than the table (a migration not applied yet): wait for it — no row value can produce it,
 * since every field name is ours.
 */
export function isTransientFailure(err: unknown): boolean {
  const code = clickhouseErrorCode(err);
  if (code === null) return true;
  if (TRANSIENT_CODES.has(code)) return true;
  return /unknown field/i.test(err instanceof Error ? err.message : '');
}

/** A refusal of the rows themselves (anything not on the allow-list): isolate and dead-letter them. */
export function isRefusal(err: unknown): err is Error {
  return !isTransientFailure(err);
}
