// The near-empty job of scripts/queue-throughput.mjs, for the sandboxed (child process) variant.
export default async function processJob(job) {
  return { i: job.data.i };
}
