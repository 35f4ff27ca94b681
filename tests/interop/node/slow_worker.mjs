// Runs a Node BullMQ Worker whose jobs take a while, with its lock and stalled-check settings
// from the argument, until the Rust test closes our stdin (or kills us).
//
// Argument: {"concurrency": 1, "sleepMs": 0, "lockDuration": 30000, "stalledInterval": 30000}
// (absent settings keep BullMQ's defaults). Each job sleeps sleepMs, then returns {"by": "node"}.
// Output: {"event":"ready"}; {"event":"start","id":..,"at":ms} when an attempt starts;
// {"event":"completed","id":..} when it ends; {"event":"stalled","id":..} for every job this
// worker's stalled checker recovered; finally {"event":"closed","processed":[ids]}.
import { Worker } from 'bullmq';
import { emit, emitAndExit, params, queueName, queueOptions, stopRequested } from './common.mjs';

const { concurrency = 1, sleepMs = 0, lockDuration, stalledInterval } = params();
const settings = {};
if (lockDuration !== undefined) settings.lockDuration = lockDuration;
if (stalledInterval !== undefined) settings.stalledInterval = stalledInterval;
const processed = [];

const worker = new Worker(
  queueName(),
  async (job) => {
    processed.push(job.id);
    emit({ event: 'start', id: job.id, at: Date.now() });
    // simulated work: the job is held (and its lock renewed by Node) for sleepMs
    await new Promise((resolve) => setTimeout(resolve, sleepMs));
    return { by: 'node' };
  },
  { ...queueOptions(), concurrency, ...settings },
);

worker.on('error', (e) => process.stderr.write(`worker error: ${e && e.stack ? e.stack : e}\n`));
worker.on('completed', (job) => emit({ event: 'completed', id: job.id }));
worker.on('stalled', (id) => emit({ event: 'stalled', id }));

await worker.waitUntilReady();
emit({ event: 'ready' });
await stopRequested();
await worker.close();
emitAndExit({ event: 'closed', processed });
