// Runs a Node BullMQ Worker on the queue until the Rust test closes our stdin.
//
// Argument: {"concurrency": 1, "record": "full" | "ids", "tag": "node"}
// What a job does depends on its data:
//   failTimes: N   -> throws on its first N attempts
//   failAlways: s  -> always throws Error(s)
//   progress: v    -> reports progress v first
//   log: "line"    -> appends a log line first
// and otherwise returns {"by": tag, "echo": data} ({"by": tag} in "ids" mode).
// Output: {"event":"ready"}; in "full" mode {"event":"start",...} when an attempt starts and
// {"event":"completed"|"failed",...} when it ends; finally {"event":"closed","processed":[ids]}
// (ids of every attempt, in start order) once closed.
import { Worker } from 'bullmq';
import { emit, emitAndExit, params, queueName, queueOptions, stopRequested } from './common.mjs';

const { concurrency = 1, record = 'full', tag = 'node' } = params();
const full = record === 'full';
const processed = [];

const worker = new Worker(
  queueName(),
  async (job) => {
    processed.push(job.id);
    const data = job.data ?? {};
    if (full) {
      emit({
        event: 'start',
        id: job.id,
        name: job.name,
        data,
        opts: job.opts,
        attemptsMade: job.attemptsMade,
        attemptsStarted: job.attemptsStarted,
        timestamp: job.timestamp,
        at: Date.now(),
      });
    }
    if (data.progress !== undefined) await job.updateProgress(data.progress);
    if (data.log !== undefined) await job.log(data.log);
    if (typeof data.failTimes === 'number' && job.attemptsMade < data.failTimes) {
      throw new Error(`planned failure on attempt ${job.attemptsMade + 1}`);
    }
    if (data.failAlways) throw new Error(String(data.failAlways));
    return full ? { by: tag, echo: data } : { by: tag };
  },
  { ...queueOptions(), concurrency },
);

worker.on('error', (e) => process.stderr.write(`worker error: ${e && e.stack ? e.stack : e}\n`));
if (full) {
  worker.on('completed', (job, returnvalue) =>
    emit({ event: 'completed', id: job.id, returnvalue, attemptsMade: job.attemptsMade, at: Date.now() }),
  );
  worker.on('failed', (job, err) =>
    emit({
      event: 'failed',
      id: job?.id,
      failedReason: err.message,
      attemptsMade: job?.attemptsMade,
      at: Date.now(),
    }),
  );
}

await worker.waitUntilReady();
emit({ event: 'ready' });
await stopRequested();
await worker.close();
emitAndExit({ event: 'closed', processed });
