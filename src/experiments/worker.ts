/**
 * Entry of a sweep worker process (forked by WorkerPool): imports the task module named on its command line
 * and runs the tasks the parent sends, one at a time, replying with results, progress and errors.
 */
import { pathToFileURL } from 'node:url';
import { fileSystemError, PoisonlabError } from '../util/errors.js';
import type { ParentMessage, WorkerMessage } from './pool.js';
import type { TaskModule } from './tasks.js';

const modulePath = process.argv[2];
if (!modulePath || !process.send) {
  process.stderr.write('poisonlab sweep worker: expected to be forked with a task module path\n');
  process.exit(2);
}
const mod = (await import(pathToFileURL(modulePath).href)) as TaskModule;
const send = (m: WorkerMessage) => process.send!(m);

process.on('disconnect', () => process.exit(0));
/**
 * A task computes synchronously for minutes (an attack's epochs), so 'disconnect' is not seen while it runs: when
 * the coordinator dies (kill -9), this worker would go on alone, writing the checkpoints of the sweep started
 * next. Progress callbacks come many times a second, so each one checks whether the parent is still ours.
 */
const parentPid = process.ppid;
const exitIfOrphaned = () => {
  if (process.ppid !== parentPid) process.exit(0);
};
/** Set by the parent's 'stop': a training run checkpoints after its current epoch and ends. */
let stopRequested = false;
process.on('message', async (msg: ParentMessage) => {
  if (msg.type === 'stop') stopRequested = true;
  if (msg.type !== 'task') return;
  let last = 0;
  try {
    const result = await mod.runTask(
      msg.task,
      msg.ctx,
      (done, total, what) => {
        exitIfOrphaned();
        const now = Date.now();
        if (now - last < 200 && done < total) return; // at most ~5 messages a second
        last = now;
        send({ type: 'progress', id: msg.id, done, total, ...(what !== undefined && { what }) });
      },
      (epoch) => send({ type: 'epoch', id: msg.id, epoch }),
      () => stopRequested,
    );
    send({ type: 'result', id: msg.id, result });
  } catch (e) {
    // A file-system failure reads like the other one-line errors (it stays retryable: a disk may get space).
    const shown = fileSystemError(e) ?? e;
    const message = shown instanceof Error ? shown.message.split('\n')[0]! : String(e);
    send({ type: 'error', id: msg.id, message, user: e instanceof PoisonlabError });
  }
});
send({ type: 'ready' });
