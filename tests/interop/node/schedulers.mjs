// Job schedulers with Node's Queue, step by step.
//
// Argument: {"steps": [{"upsert": {id, repeat, name, data, opts}} | {"list": true} |
//            {"remove": id}]}
// Output: {"event":"upserted","id":...,"jobId":...} per upsert,
//         {"event":"schedulers","schedulers":[...getJobSchedulers()]} per list,
//         {"event":"removed","id":...,"removed":bool} per remove.
import { Queue } from 'bullmq';
import { emit, params, queueName, queueOptions, fail } from './common.mjs';

const p = params();
const queue = new Queue(queueName(), queueOptions());
try {
  for (const step of p.steps ?? []) {
    if (step.upsert) {
      const { id, repeat, name, data, opts } = step.upsert;
      const job = await queue.upsertJobScheduler(id, repeat, { name, data, opts });
      emit({ event: 'upserted', id, jobId: job?.id });
    } else if (step.list) {
      const schedulers = await queue.getJobSchedulers(0, -1, true);
      emit({ event: 'schedulers', schedulers });
    } else if (step.remove) {
      const removed = await queue.removeJobScheduler(step.remove);
      emit({ event: 'removed', id: step.remove, removed });
    } else {
      fail(`unknown step ${JSON.stringify(step)}`);
    }
  }
} finally {
  await queue.close();
}
