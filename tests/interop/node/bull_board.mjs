// Serves the real Bull Board (@bull-board/api with @bull-board/express) over the queues named
// in the argument, on 127.0.0.1 at a free port, until the Rust test closes our stdin.
//
// Parameters: {"queues": ["name", ...]} (each under INTEROP_PREFIX, on INTEROP_REDIS_URL).
// Output: first {"event":"metas","queues":[...]}: the queues found by their meta hash
// (`<prefix>:*:meta`, as Bull Board's standalone CLI finds queues), read before any Node Queue
// exists (a Node Queue writes the meta hash itself); then {"event":"listening","port":N} once
// it accepts requests. The Rust test then reads Bull Board's JSON API under
// http://127.0.0.1:N/api/.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';
import IORedis from 'ioredis';
import { connection, emit, fail, params, queueOptions, stopRequested } from './common.mjs';

const { queues: names } = params();
if (!Array.isArray(names) || names.length === 0) fail('queues: a non-empty array of names');

const { prefix } = queueOptions();
const redis = new IORedis(connection());
const metas = [];
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*:meta`, 'COUNT', 1000);
  cursor = next;
  metas.push(...keys.map((key) => key.slice(prefix.length + 1, -':meta'.length)));
} while (cursor !== '0');
await redis.quit();
emit({ event: 'metas', queues: metas.sort() });

const queues = names.map((name) => new Queue(name, queueOptions()));
const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath('/');
createBullBoard({
  queues: queues.map((queue) => new BullMQAdapter(queue)),
  serverAdapter,
});

const app = express();
app.use('/', serverAdapter.getRouter());
const server = app.listen(0, '127.0.0.1', () => {
  emit({ event: 'listening', port: server.address().port });
});
server.on('error', (e) => fail(`cannot listen: ${e.message}`));

await stopRequested();
await new Promise((resolve) => server.close(resolve));
await Promise.all(queues.map((queue) => queue.close()));
emit({ event: 'stopped' });
process.exit(0);
