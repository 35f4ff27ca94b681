// Adds jobs with Node's Queue, in the order given.
//
// Argument: {"steps": [{"add": {name, data, opts}} | {"bulk": [{name, data, opts}, ...]}]}
// or {"generate": {"count": N, "name": "mixed", "from": K, "chunk": 1000}} to add N jobs with
// data {"n": K..K+N-1} through addBulk in chunks.
// Output: {"event":"added","ids":[...]} with every job's id in order.
import { Queue } from 'bullmq';
import { emit, params, queueName, queueOptions, fail } from './common.mjs';

const p = params();
const queue = new Queue(queueName(), queueOptions());
const ids = [];
try {
  if (p.generate) {
    const { count, name = 'job', from = 0, chunk = 1000 } = p.generate;
    for (let start = 0; start < count; start += chunk) {
      const batch = [];
      for (let i = start; i < Math.min(start + chunk, count); i++) {
        batch.push({ name, data: { n: from + i } });
      }
      const jobs = await queue.addBulk(batch);
      ids.push(...jobs.map((j) => j.id));
    }
  }
  for (const step of p.steps ?? []) {
    if (step.add) {
      const { name, data, opts } = step.add;
      const job = await queue.add(name, data, opts);
      ids.push(job.id);
    } else if (step.bulk) {
      const jobs = await queue.addBulk(step.bulk);
      ids.push(...jobs.map((j) => j.id));
    } else {
      fail(`unknown step ${JSON.stringify(step)}`);
    }
  }
  emit({ event: 'added', ids });
} finally {
  await queue.close();
}
