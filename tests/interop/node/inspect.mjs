// Reads jobs back with Node's Queue: getJob, getState, getJobLogs.
//
// Argument: {"ids": ["1", "custom", ...]}
// Output: one line per id: {"event":"job","id":..,"found":bool,"state":..,"job":{..},"logs":{..}}
import { Queue } from 'bullmq';
import { describeJob, emit, params, queueName, queueOptions } from './common.mjs';

const { ids = [] } = params();
const queue = new Queue(queueName(), queueOptions());
try {
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) {
      emit({ event: 'job', id, found: false });
      continue;
    }
    const state = await job.getState();
    const logs = await queue.getJobLogs(id);
    emit({ event: 'job', id, found: true, state, job: describeJob(job), logs });
  }
} finally {
  await queue.close();
}
