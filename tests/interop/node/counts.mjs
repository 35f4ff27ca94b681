// Prints Node's view of the queue's job counts for every state oxq knows.
//
// Output: {"event":"counts","counts":{"waiting":N,"prioritized":N,...}}
import { Queue } from 'bullmq';
import { emit, queueName, queueOptions } from './common.mjs';

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed'];
const queue = new Queue(queueName(), queueOptions());
try {
  const counts = await queue.getJobCounts(...STATES);
  emit({ event: 'counts', counts });
} finally {
  await queue.close();
}
