/**
 * What the BullMQ coordinator (queue-coordinator.ts) and the workers (queue-worker.ts) share: the queue's name,
 * the job ids, the job payloads and results, and the Redis connection and settings check.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { ExperimentConfig } from '../config/schema.js';
import type { EpochRecord, RunMetrics, TheoryOverlay } from '../results/index.js';
import { check, PoisonlabError } from '../util/errors.js';
import type { SweepTask } from './tasks.js';

/** The BullMQ queue every coordinator and worker uses (jobs of several configs can share it). */
export const QUEUE_NAME = 'poisonlab';

/** Version of the job payload; a worker refuses another. */
export const JOB_VERSION = 1;

/** A job's payload: everything a worker needs to rebuild the task on its own machine. */
export interface QueueJobData {
  version: number;
  config: ExperimentConfig;
  hash: string;
  task: SweepTask;
  /** Content hash (artifactHash) of the surrogate the task needs, when known. */
  surrogateHash?: string;
  /** Content hash of the poison a train task needs. */
  poisonHash?: string;
}

/** What a job returns (kept by Redis until the coordinator has stored it). */
export type QueueJobResult =
  | { kind: 'surrogate'; contentHash: string; worker: string }
  | { kind: 'theory'; overlay: TheoryOverlay; worker: string }
  | { kind: 'poison'; key: string; contentHash: string; report?: unknown; worker: string }
  | { kind: 'train'; key: string; metrics: RunMetrics; epochs?: EpochRecord[]; worker: string };

/** Idempotent job id of a task of config `hash`: the hash, the task kind, the run or poison key. */
export function jobId(hash: string, task: SweepTask): string {
  const key =
    task.kind === 'surrogate' || task.kind === 'theory'
      ? task.kind
      : task.kind === 'poison'
        ? task.poison.key
        : task.run.key;
  return `${hash}.${task.kind}.${key.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/**
 * BullMQ connection options from `redis://[user:pass@]host:port[/db]` (or rediss://). Requests wait while
 * Redis is away (maxRetriesPerRequest null, as BullMQ's workers need), so a restarted Redis loses nothing.
 */
export function connectionFromUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    u = new URL('invalid:');
  }
  check(
    (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '',
    `--queue: expected redis://HOST:PORT (e.g. redis://127.0.0.1:6379), got '${url}'`,
  );
  return {
    url,
    maxRetriesPerRequest: null,
    // Reconnect every 0.2-2 s forever: a Redis restart only pauses the sweep.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** The subset of a Redis client the settings check needs. */
interface ConfigClient {
  config(...args: string[]): Promise<unknown>;
}

/**
 * Warnings about Redis settings that can lose a sweep's jobs: persistence off (`appendonly no`: a restart
 * forgets the queue) or an eviction policy other than `noeviction` (Redis may drop job keys under memory
 * pressure). An empty list when both are right.
 */
export async function redisWarnings(client: ConfigClient): Promise<string[]> {
  const get = async (name: string): Promise<string | undefined> => {
    try {
      const r = (await client.config('GET', name)) as string[] | Record<string, string>;
      return Array.isArray(r) ? r[1] : r[name];
    } catch {
      return undefined;
    }
  };
  const warnings: string[] = [];
  const aof = await get('appendonly');
  const policy = await get('maxmemory-policy');
  if (aof === undefined || policy === undefined)
    warnings.push(
      'redis: cannot read its settings (CONFIG GET refused); make sure it runs with appendonly yes and maxmemory-policy noeviction',
    );
  if (aof !== undefined && aof !== 'yes')
    warnings.push(
      `redis: appendonly is '${aof}', expected 'yes' (a Redis restart would lose queued and finished jobs; set appendonly yes)`,
    );
  if (policy !== undefined && policy !== 'noeviction')
    warnings.push(
      `redis: maxmemory-policy is '${policy}', expected 'noeviction' (Redis may evict job keys; set maxmemory-policy noeviction)`,
    );
  return warnings;
}

/**
 * Connect to `url` once and return the warnings of redisWarnings. Redis that cannot be reached at start is a
 * one-line error (later outages only pause the sweep: the queue's own connections wait and reconnect).
 */
export async function checkRedis(url: string): Promise<string[]> {
  connectionFromUrl(url);
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  let cause = '';
  client.on('error', (e: Error) => {
    cause ||= e.message.split('\n')[0]!; // the first error says why (ECONNREFUSED, ENOTFOUND, ...)
  });
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw new PoisonlabError(
      `--queue: cannot connect to ${url} (${cause || (e as Error).message.split('\n')[0]}); expected a running Redis >= 6.2`,
    );
  }
  try {
    return await redisWarnings(client as unknown as ConfigClient);
  } finally {
    client.disconnect();
  }
}
