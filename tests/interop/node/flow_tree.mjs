// Adds flow trees with Node's FlowProducer (addBulk: all trees in one transaction).
//
// Argument: {"trees": [tree, ...]} where tree = {"name", "queueName", "data"?, "opts"?,
//            "children"?: [tree, ...]}; queues are under INTEROP_PREFIX.
// Output: {"event":"flows","trees":[node, ...]} with node = {"queue", "id", "name",
//          "children": [node, ...]} as FlowProducer answered.
import { FlowProducer } from 'bullmq';
import { emit, params, queueOptions } from './common.mjs';

const { trees = [] } = params();
const producer = new FlowProducer(queueOptions());

function describe(node) {
  return {
    queue: node.job.queueName,
    id: node.job.id,
    name: node.job.name,
    children: (node.children ?? []).map(describe),
  };
}

try {
  const added = await producer.addBulk(trees);
  emit({ event: 'flows', trees: added.map(describe) });
} finally {
  await producer.close();
}
