// Runs a Node BullMQ Worker for flows on one queue (INTEROP_QUEUE) until the Rust test closes
// our stdin.
//
// Argument: {"tag": "node"}
// A job whose data has failAlways: s throws Error(s); any other returns {"by": tag, "name",
// "children": getChildrenValues(), "ignored": getIgnoredChildrenFailures()}, so a parent
// reports what it read of its children.
// Output: {"event":"ready"}; {"event":"completed","id","returnvalue"} and
// {"event":"failed","id","failedReason"} as attempts end; {"event":"closed"} once closed.
import { Worker } from 'bullmq';
import { emit, emitAndExit, params, queueName, queueOptions, stopRequested } from './common.mjs';

const { tag = 'node' } = params();

const worker = new Worker(
  queueName(),
  async (job) => {
    const data = job.data ?? {};
    if (data.failAlways) throw new Error(String(data.failAlways));
    return {
      by: tag,
      name: job.name,
      children: await job.getChildrenValues(),
      ignored: await job.getIgnoredChildrenFailures(),
    };
  },
  { ...queueOptions(), concurrency: 4 },
);

worker.on('error', (e) => process.stderr.write(`worker error: ${e && e.stack ? e.stack : e}\n`));
worker.on('completed', (job, returnvalue) => emit({ event: 'completed', id: job.id, returnvalue }));
worker.on('failed', (job, err) => emit({ event: 'failed', id: job?.id, failedReason: err.message }));

await worker.waitUntilReady();
emit({ event: 'ready' });
await stopRequested();
await worker.close();
emitAndExit({ event: 'closed' });
