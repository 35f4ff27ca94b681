// Shared by the interop scripts: where the queue is (environment), the script's own
// parameters (one JSON argument), JSON-lines output, and a graceful stop when the Rust test
// closes our stdin (or sends SIGTERM).
//
// Environment: INTEROP_REDIS_URL (redis://host:port[/db]), INTEROP_PREFIX, INTEROP_QUEUE.

function required(name) {
  const value = process.env[name];
  if (!value) {
    fail(`environment variable ${name} is not set`);
  }
  return value;
}

/** Prints an error as a JSON line on stderr and exits non-zero. */
export function fail(message) {
  process.stderr.write(`${JSON.stringify({ error: String(message) })}\n`);
  process.exit(2);
}

/** Writes one JSON object as a line on stdout. */
export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/**
 * Writes a last JSON line and exits once stdout has taken all of it: `process.exit` right after
 * a write to a pipe would cut a long line short.
 */
export function emitAndExit(obj, code = 0) {
  process.stdout.write(`${JSON.stringify(obj)}\n`, () => process.exit(code));
}

/** The script's parameters: the JSON text of its first argument ({} when absent). */
export function params() {
  const text = process.argv[2];
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`the argument is not JSON: ${e.message}`);
  }
}

/** ioredis connection options for INTEROP_REDIS_URL. */
export function connection() {
  const url = new URL(required('INTEROP_REDIS_URL'));
  if (url.protocol !== 'redis:') fail(`unsupported URL scheme ${url.protocol}`);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    // BullMQ's requirement for workers' blocking connections.
    maxRetriesPerRequest: null,
  };
}

/** Options every BullMQ class here takes: connection and prefix. */
export function queueOptions() {
  return { connection: connection(), prefix: required('INTEROP_PREFIX') };
}

export function queueName() {
  return required('INTEROP_QUEUE');
}

/** Resolves when the parent closes our stdin or sends SIGTERM/SIGINT. */
export function stopRequested() {
  return new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.on('SIGTERM', resolve);
    process.on('SIGINT', resolve);
    process.stdin.resume();
  });
}

/** A job as Node BullMQ reads it, in plain JSON (undefined fields dropped). */
export function describeJob(job) {
  return {
    id: job.id,
    name: job.name,
    data: job.data,
    opts: job.opts,
    timestamp: job.timestamp,
    delay: job.delay,
    priority: job.priority,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    progress: job.progress,
    returnvalue: job.returnvalue,
    failedReason: job.failedReason,
    stacktrace: job.stacktrace,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    processedBy: job.processedBy,
  };
}

process.on('unhandledRejection', (e) => fail(e && e.stack ? e.stack : e));
