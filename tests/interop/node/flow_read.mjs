// Reads flows back with Node's BullMQ: jobs with their flow links and dependencies, and trees
// with FlowProducer.getFlow.
//
// Argument: {"jobs": [{"queue", "id"}, ...], "flows": [{"queue", "id", "depth"?,
//            "maxChildren"?}, ...]}; queues are under INTEROP_PREFIX.
// Output, per job: {"event":"job","queue","id","found",
//   "state","parentKey","parent","returnvalue","failedReason","deferredFailure",
//   "childrenValues": getChildrenValues(), "ignored": getIgnoredChildrenFailures(),
//   "dependencies": getDependencies() (processed, unprocessed, failed, ignored),
//   "counts": getDependenciesCount()};
// per flow: {"event":"flow","queue","id","tree": node or null} with node = {"queue", "id",
//   "name", "state", "data", "parentKey", "children": [node, ...]} (children sorted by queue
//   then id, as getFlow's order is a set's).
import { FlowProducer, Queue } from 'bullmq';
import { emit, params, queueOptions } from './common.mjs';

const { jobs = [], flows = [] } = params();
const options = queueOptions();
const queues = new Map();
function queueOf(name) {
  if (!queues.has(name)) queues.set(name, new Queue(name, options));
  return queues.get(name);
}
const producer = new FlowProducer(options);

async function describeNode(node) {
  const children = await Promise.all((node.children ?? []).map(describeNode));
  children.sort((a, b) => (a.queue + '\u0000' + a.id).localeCompare(b.queue + '\u0000' + b.id));
  return {
    queue: node.job.queueName,
    id: node.job.id,
    name: node.job.name,
    state: await node.job.getState(),
    data: node.job.data,
    parentKey: node.job.parentKey ?? null,
    children,
  };
}

try {
  for (const { queue, id } of jobs) {
    const job = await queueOf(queue).getJob(id);
    if (!job) {
      emit({ event: 'job', queue, id, found: false });
      continue;
    }
    emit({
      event: 'job',
      queue,
      id,
      found: true,
      state: await job.getState(),
      parentKey: job.parentKey ?? null,
      parent: job.parent ?? null,
      returnvalue: job.returnvalue ?? null,
      failedReason: job.failedReason ?? null,
      deferredFailure: job.deferredFailure ?? null,
      childrenValues: await job.getChildrenValues(),
      ignored: await job.getIgnoredChildrenFailures(),
      dependencies: await job.getDependencies(),
      counts: await job.getDependenciesCount(),
    });
  }
  for (const { queue, id, depth = 10, maxChildren = 20 } of flows) {
    const tree = await producer.getFlow({ id, queueName: queue, prefix: options.prefix, depth, maxChildren });
    emit({ event: 'flow', queue, id, tree: tree ? await describeNode(tree) : null });
  }
} finally {
  await producer.close();
  for (const queue of queues.values()) await queue.close();
}
