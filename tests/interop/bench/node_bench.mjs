// Node BullMQ's side of oxq's Redis benchmark (crates/oxq-redis/examples/bench_redis.rs spawns
// it; it can run alone too). The same scenarios as the oxq side, on the same Redis:
//   add        N jobs added one by one, each awaited
//   add_bulk   N jobs added with addBulk, BULK jobs per call
//   process_cC N prefilled jobs processed by one Worker at concurrency C with a no-op processor,
//              timed from the Worker's creation to its N-th 'completed' event
// Each scenario gets a fresh queue (obliterated afterwards, outside the timing) and reports
// wall seconds and the Redis server's CPU seconds (INFO cpu: used_cpu_sys + used_cpu_user)
// spent between its start and end. Prints one JSON line on stdout.
//
// Run with: node tests/interop/bench/node_bench.mjs --url redis://127.0.0.1:6379 --jobs 20000
//   [--concurrency 1,10,100] [--bulk 1000] [--tag run1]
// bullmq and ioredis resolve from tests/interop/node_modules (`npm ci` there), or from
// $BULLMQ_FROM/node_modules when that variable names another directory.

import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(
  process.env.BULLMQ_FROM
    ? path.join(path.resolve(process.env.BULLMQ_FROM), 'resolve-from-here.cjs')
    : import.meta.url,
);
const { Queue, Worker } = require('bullmq');
const IORedis = require('ioredis');
const bullmqVersion = require(
  path.join(path.dirname(require.resolve('bullmq')), '..', '..', 'package.json'),
).version;

function parseArgs(argv) {
  const args = { url: 'redis://127.0.0.1:6379', jobs: 20000, concurrency: [1, 10, 100], bulk: 1000, tag: 'node' };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${name}`);
    switch (name) {
      case '--url': args.url = value; break;
      case '--jobs': args.jobs = Number(value); break;
      case '--bulk': args.bulk = Number(value); break;
      case '--tag': args.tag = value; break;
      case '--concurrency': args.concurrency = value.split(',').map(Number); break;
      default: throw new Error(`unknown option ${name}; expected --url, --jobs, --bulk, --tag, --concurrency`);
    }
  }
  return args;
}

function connectionOptions(url) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}

async function redisCpu(info) {
  const text = await info.info('cpu');
  const field = (name) => Number((text.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1] || 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function measure(info, body) {
  const cpu0 = await redisCpu(info);
  const t0 = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = await redisCpu(info);
  return { seconds, redis_cpu_seconds: cpu1 - cpu0 };
}

async function withQueue(conn, name, body) {
  const queue = new Queue(name, { connection: conn });
  await queue.waitUntilReady();
  try {
    return await body(queue);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

async function addBulk(queue, jobs, bulk) {
  for (let i = 0; i < jobs; i += bulk) {
    const batch = [];
    for (let n = i; n < Math.min(jobs, i + bulk); n++) batch.push({ name: 'job', data: { n } });
    await queue.addBulk(batch);
  }
}

function processAll(conn, name, jobs, concurrency) {
  return new Promise((resolve, reject) => {
    let done = 0;
    const worker = new Worker(name, async () => {}, { connection: conn, concurrency });
    worker.on('completed', () => {
      done += 1;
      if (done === jobs) resolve(worker);
    });
    worker.on('failed', (job, err) => reject(new Error(`job ${job && job.id} failed: ${err}`)));
    worker.on('error', (err) => reject(err));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const conn = connectionOptions(args.url);
  const info = new IORedis(conn);
  const results = [];
  const queueName = (scenario) => `bench-node-${args.tag}-${scenario}`;

  await withQueue(conn, queueName('add'), async (queue) => {
    const m = await measure(info, async () => {
      for (let n = 0; n < args.jobs; n++) await queue.add('job', { n });
    });
    results.push({ scenario: 'add', jobs: args.jobs, ...m });
  });

  await withQueue(conn, queueName('add_bulk'), async (queue) => {
    const m = await measure(info, () => addBulk(queue, args.jobs, args.bulk));
    results.push({ scenario: 'add_bulk', jobs: args.jobs, ...m });
  });

  for (const c of args.concurrency) {
    const scenario = `process_c${c}`;
    await withQueue(conn, queueName(scenario), async (queue) => {
      await addBulk(queue, args.jobs, args.bulk);
      let worker;
      const m = await measure(info, async () => {
        worker = await processAll(conn, queue.name, args.jobs, c);
      });
      await worker.close();
      results.push({ scenario, jobs: args.jobs, ...m });
    });
  }

  await info.quit();
  process.stdout.write(`${JSON.stringify({ bullmq: bullmqVersion, node: process.version, results })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`node_bench: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
