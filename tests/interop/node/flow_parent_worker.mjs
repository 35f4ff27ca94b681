// Runs a Node BullMQ Worker (INTEROP_QUEUE) whose jobs add children to another queue and wait
// for them (BullMQ's documented pattern: add children with `parent`, then
// moveToWaitingChildren and throw WaitingChildrenError), until the Rust test closes our stdin.
//
// Argument: {"childQueue": "kids", "children": 2}
// A job's first run adds the children and waits; its next run returns {"by": "node",
// "children": getChildrenValues()}.
// Output: {"event":"ready"}; {"event":"start","id","step"} per run; {"event":"completed","id",
// "returnvalue"} / {"event":"failed","id","failedReason"}; {"event":"closed"} once closed.
import { Queue, WaitingChildrenError, Worker } from 'bullmq';
import { emit, emitAndExit, params, queueName, queueOptions, stopRequested } from './common.mjs';

const { childQueue, children = 2 } = params();
const kids = new Queue(childQueue, queueOptions());

const worker = new Worker(
  queueName(),
  async (job, token) => {
    const step = job.data?.step ?? 'start';
    emit({ event: 'start', id: job.id, step });
    if (step === 'start') {
      for (let i = 0; i < children; i += 1) {
        await kids.add(`kid-${i}`, { i }, { parent: { id: job.id, queue: job.queueQualifiedName } });
      }
      await job.updateData({ ...job.data, step: 'waiting' });
      if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    }
    return { by: 'node', children: await job.getChildrenValues() };
  },
  { ...queueOptions(), concurrency: 1 },
);

worker.on('error', (e) => process.stderr.write(`worker error: ${e && e.stack ? e.stack : e}\n`));
worker.on('completed', (job, returnvalue) => emit({ event: 'completed', id: job.id, returnvalue }));
worker.on('failed', (job, err) => emit({ event: 'failed', id: job?.id, failedReason: err.message }));

await worker.waitUntilReady();
emit({ event: 'ready' });
await stopRequested();
await worker.close();
await kids.close();
emitAndExit({ event: 'closed' });
