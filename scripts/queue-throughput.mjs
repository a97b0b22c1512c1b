#!/usr/bin/env node
/**
 * The queue's own throughput: near-empty jobs through Redis with K worker processes (BullMQ, one job at a time
 * each), inline or in sandboxed child processes as `poisonlab worker` runs them.
 *
 *   node scripts/queue-throughput.mjs --url redis://127.0.0.1:6379 --jobs 2000 --workers 1,2,4 [--sandboxed]
 *
 * Prints one line per worker count: jobs, seconds, jobs/s (from the start signal until every job completed).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const url = arg('--url', 'redis://127.0.0.1:6379');
const connection = { url, maxRetriesPerRequest: null };
const QUEUE = 'poisonlab-throughput';

if (args[0] === '--child') {
  const sandboxed = args.includes('--sandboxed');
  const processor = sandboxed
    ? fileURLToPath(new URL('./queue-throughput-processor.mjs', import.meta.url))
    : async (job) => ({ i: job.data.i });
  const worker = new Worker(QUEUE, processor, { connection, concurrency: 1, autorun: false });
  await worker.waitUntilReady();
  process.on('message', (m) => {
    if (m === 'go') worker.run();
    if (m === 'stop') worker.close().then(() => process.exit(0));
  });
  process.send('ready');
} else {
  const jobs = Number(arg('--jobs', '2000'));
  const counts = arg('--workers', '1,2,4').split(',').map(Number);
  const sandboxed = args.includes('--sandboxed');
  const queue = new Queue(QUEUE, { connection });
  for (const k of counts) {
    await queue.obliterate({ force: true });
    const data = Array.from({ length: jobs }, (_, i) => ({
      name: 'empty',
      data: { i },
      opts: { jobId: `job-${i}`, removeOnComplete: false },
    }));
    for (let i = 0; i < data.length; i += 500) await queue.addBulk(data.slice(i, i + 500));
    const children = [];
    for (let w = 0; w < k; w++) {
      const child = fork(fileURLToPath(import.meta.url), [
        '--child',
        '--url',
        url,
        ...(sandboxed ? ['--sandboxed'] : []),
      ]);
      await new Promise((resolve) => child.once('message', resolve));
      children.push(child);
    }
    const t0 = performance.now();
    for (const c of children) c.send('go');
    for (;;) {
      const { completed } = await queue.getJobCounts('completed');
      if (completed >= jobs) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    for (const c of children) c.send('stop');
    await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
    console.log(
      `${sandboxed ? 'sandboxed' : 'inline'} workers=${k} jobs=${jobs} seconds=${seconds.toFixed(2)} jobs/s=${(jobs / seconds).toFixed(0)}`,
    );
  }
  await queue.obliterate({ force: true });
  await queue.close();
}
