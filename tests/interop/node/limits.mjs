// Sets a queue's global limits the way Node BullMQ does, then prints them as Node reads them.
//
// Argument: {"rateLimit": {"max": N, "duration": MS}} and/or {"concurrency": N} (each optional:
// without either the script only reads).
// Output: {"event":"limits","rateLimit":{"max":N,"duration":MS}|null,"concurrency":N|null}
import { Queue } from 'bullmq';
import { emit, params, queueName, queueOptions } from './common.mjs';

const { rateLimit, concurrency } = params();
const queue = new Queue(queueName(), queueOptions());
try {
  if (rateLimit) await queue.setGlobalRateLimit(rateLimit.max, rateLimit.duration);
  if (concurrency !== undefined) await queue.setGlobalConcurrency(concurrency);
  const limit = await queue.getGlobalRateLimit();
  emit({
    event: 'limits',
    rateLimit: limit ? { max: Number(limit.max), duration: Number(limit.duration) } : null,
    concurrency: await queue.getGlobalConcurrency(),
  });
} finally {
  await queue.close();
}
