// Reads a queue's per-minute metrics as Node BullMQ does (queue.getMetrics), after optionally
// running a Worker started with `metrics: { maxDataPoints }` until `jobs` jobs have finished.
//
// Argument: {"maxDataPoints": N, "jobs": n} (both optional: without them the script only
// reads). A job whose data has `failAlways` throws; the others return 1.
// Output: {"event":"metrics","completed":{meta,data,count},"failed":{meta,data,count}}
import { Queue, Worker } from 'bullmq';
import { emit, params, queueName, queueOptions } from './common.mjs';

const { maxDataPoints, jobs = 0 } = params();
const queue = new Queue(queueName(), queueOptions());
try {
  if (maxDataPoints) {
    let finished = 0;
    let worker;
    await new Promise((resolve, reject) => {
      worker = new Worker(
        queueName(),
        async (job) => {
          if (job.data && job.data.failAlways) throw new Error(String(job.data.failAlways));
          return 1;
        },
        { ...queueOptions(), metrics: { maxDataPoints } },
      );
      const done = () => {
        finished += 1;
        if (finished >= jobs) resolve();
      };
      worker.on('completed', done);
      worker.on('failed', done);
      worker.on('error', reject);
    });
    await worker.close();
  }
  emit({
    event: 'metrics',
    completed: await queue.getMetrics('completed'),
    failed: await queue.getMetrics('failed'),
  });
} finally {
  await queue.close();
}
