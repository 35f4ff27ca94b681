// Node BullMQ's side of oxq's Redis benchmark (`oxq bench --node` runs a copy built into the
// binary, crates/oxq-cli/src/bench/node.rs; it can run alone). The same scenarios as the oxq side, on the same Redis:
//   add        N jobs added one by one, each awaited
//   add_bulk   N jobs added with addBulk, BULK jobs per call
//   process_cC N prefilled jobs processed by one Worker at concurrency C with a no-op processor,
//              timed from the Worker's creation to its N-th 'completed' event
// and, picked with --scenarios (default: add,add_bulk,process, the three above), the steady-rate
// ones of `oxq bench`, each with a Worker already waiting:
//   start_latency     jobs added at --latency-rate/s for --latency-seconds; per job, ms from
//                     the add call to the processor's start
//   delayed_lateness  jobs delayed --delay-ms added at --delayed-rate/s for --delayed-seconds;
//                     per job, ms from its due time (add call + delay) to the processor's start
// (--steady-concurrency for both), reported as every job's sample in `samples`.
// Each scenario gets a fresh queue (obliterated afterwards, outside the timing) and reports
// wall seconds and the Redis server's CPU seconds (INFO cpu: used_cpu_sys + used_cpu_user)
// spent between its start and end. Prints one JSON line on stdout.
//
// Run with: node tests/interop/bench/node_bench.mjs --url redis://127.0.0.1:6379 --jobs 20000
//   [--concurrency 1,10,100] [--bulk 1000] [--tag run1] [--scenarios add,add_bulk,process,...]
//   [--latency-rate 200 --latency-seconds 10 --delayed-rate 1000 --delayed-seconds 5
//    --delay-ms 1000 --steady-concurrency 10]
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
  const args = {
    url: 'redis://127.0.0.1:6379', jobs: 20000, concurrency: [1, 10, 100], bulk: 1000, tag: 'node',
    scenarios: ['add', 'add_bulk', 'process'],
    latencyRate: 200, latencySeconds: 10, delayedRate: 1000, delayedSeconds: 5, delayMs: 1000,
    steadyConcurrency: 10,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${name}`);
    switch (name) {
      case '--url': args.url = value; break;
      case '--jobs': args.jobs = Number(value); break;
      case '--bulk': args.bulk = Number(value); break;
      case '--tag': args.tag = value; break;
      case '--concurrency': args.concurrency = value.split(',').map(Number); break;
      case '--scenarios': args.scenarios = value.split(','); break;
      case '--latency-rate': args.latencyRate = Number(value); break;
      case '--latency-seconds': args.latencySeconds = Number(value); break;
      case '--delayed-rate': args.delayedRate = Number(value); break;
      case '--delayed-seconds': args.delayedSeconds = Number(value); break;
      case '--delay-ms': args.delayMs = Number(value); break;
      case '--steady-concurrency': args.steadyConcurrency = Number(value); break;
      default: throw new Error(`unknown option ${name}; expected --url, --jobs, --bulk, --tag, --concurrency, --scenarios, --latency-rate, --latency-seconds, --delayed-rate, --delayed-seconds, --delay-ms, --steady-concurrency`);
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

// Microseconds since the epoch, the same clock as the Rust side's stamps.
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Adds rate*seconds jobs on a fixed schedule (each add not awaited before the next, so a slow
// add does not hold back the schedule) to a queue a Worker already waits on; resolves with
// every job's start minus its due time (the add call plus delayMs), in ms.
async function steady(conn, queue, rate, seconds, concurrency, delayMs) {
  const jobs = Math.max(1, Math.round(rate * seconds));
  const samples = [];
  let worker;
  const allStarted = new Promise((resolve, reject) => {
    worker = new Worker(queue.name, async (job) => {
      samples.push((nowUs() - job.data.due_us) / 1000);
      if (samples.length === jobs) resolve();
    }, { connection: conn, concurrency });
    worker.on('failed', (job, err) => reject(new Error(`job ${job && job.id} failed: ${err}`)));
    worker.on('error', (err) => reject(err));
  });
  await worker.waitUntilReady();
  const adds = [];
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    // pacing, not waiting for a result: the scenario adds at a steady real-time rate
    if (wait > 0) await sleep(wait);
    const data = { due_us: nowUs() + delayMs * 1000 };
    adds.push(queue.add('job', data, delayMs > 0 ? { delay: delayMs } : {}));
  }
  await Promise.all(adds);
  await allStarted;
  await worker.close();
  return samples;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const conn = connectionOptions(args.url);
  const info = new IORedis(conn);
  const results = [];
  const queueName = (scenario) => `bench-node-${args.tag}-${scenario}`;

  const chosen = (scenario) => args.scenarios.includes(scenario);

  if (chosen('add')) await withQueue(conn, queueName('add'), async (queue) => {
    const m = await measure(info, async () => {
      for (let n = 0; n < args.jobs; n++) await queue.add('job', { n });
    });
    results.push({ scenario: 'add', jobs: args.jobs, ...m });
  });

  if (chosen('add_bulk')) await withQueue(conn, queueName('add_bulk'), async (queue) => {
    const m = await measure(info, () => addBulk(queue, args.jobs, args.bulk));
    results.push({ scenario: 'add_bulk', jobs: args.jobs, ...m });
  });

  for (const c of chosen('process') ? args.concurrency : []) {
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

  if (chosen('start_latency')) await withQueue(conn, queueName('start_latency'), async (queue) => {
    const samples = await steady(conn, queue, args.latencyRate, args.latencySeconds, args.steadyConcurrency, 0);
    results.push({ scenario: 'start_latency', samples });
  });

  if (chosen('delayed_lateness')) await withQueue(conn, queueName('delayed_lateness'), async (queue) => {
    const samples = await steady(conn, queue, args.delayedRate, args.delayedSeconds, args.steadyConcurrency, args.delayMs);
    results.push({ scenario: 'delayed_lateness', samples });
  });

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
