// Listens with Node's QueueEvents from the start of the queue's event stream (the queue is
// fresh, so nothing is missed however late the listener starts) until stdin closes.
//
// Output: {"event":"ready"}, then one line per event: {"event":"queue-event","name":..,
// "args":{..},"types":{field: typeof value}}, then {"event":"closed"}.
import { QueueEvents } from 'bullmq';
import { emit, emitAndExit, queueName, queueOptions, stopRequested } from './common.mjs';

const NAMES = ['added', 'waiting', 'delayed', 'active', 'progress', 'completed', 'failed',
  'retries-exhausted', 'stalled', 'removed', 'drained', 'paused', 'resumed'];

const events = new QueueEvents(queueName(), { ...queueOptions(), lastEventId: '0-0' });
for (const name of NAMES) {
  events.on(name, (args, id) => {
    // `drained` carries only the stream id.
    const payload = typeof args === 'object' && args !== null ? args : {};
    const types = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, typeof v]));
    emit({ event: 'queue-event', name, id: typeof args === 'string' ? args : id, args: payload, types });
  });
}
events.on('error', (e) => process.stderr.write(`queue events error: ${e && e.stack ? e.stack : e}\n`));

await events.waitUntilReady();
emit({ event: 'ready' });
await stopRequested();
await events.close();
emitAndExit({ event: 'closed' });
