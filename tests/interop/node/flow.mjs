// Adds a flow with Node's FlowProducer: one parent in this queue whose children live in
// the child queue given, so the parent waits for them in `waiting-children`.
//
// Argument: {"parent": "name", "childQueue": "other", "children": N}
// Output: {"event":"flow","parent":"<id>","children":["<id>", ...]}
import { FlowProducer } from 'bullmq';
import { emit, params, queueName, queueOptions } from './common.mjs';

const { parent = 'parent', childQueue, children = 1 } = params();
const options = queueOptions();
const producer = new FlowProducer(options);
try {
  const tree = await producer.add({
    name: parent,
    queueName: queueName(),
    data: { role: 'parent' },
    children: Array.from({ length: children }, (_, i) => ({
      name: `child-${i}`,
      queueName: childQueue ?? queueName(),
      data: { role: 'child', i },
    })),
  });
  emit({ event: 'flow', parent: tree.job.id, children: (tree.children ?? []).map((c) => c.job.id) });
} finally {
  await producer.close();
}
