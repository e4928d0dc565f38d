// The relay between the main thread and the graph worker process (graph-worker-client.ts). It
// starts the process and forwards messages both ways. Writing a large batch to the process's IPC
// pipe needs turns of the sending thread's event loop; the main thread holds its loop for whole
// memory.db transactions, so it hands batches to this thread (postMessage queues them at once)
// and this thread, idle otherwise, writes them. Plain JavaScript: no addon is loaded here.
import { fork } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';

const { script, dir } = workerData;
const child = fork(script, [dir], { execArgv: [], env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
child.on('message', (reply) => parentPort.postMessage({ kind: 'reply', reply }));
child.on('error', (err) => parentPort.postMessage({ kind: 'error', message: err.message }));
child.on('exit', (code, signal) => parentPort.postMessage({ kind: 'exit', code, signal }));
parentPort.on('message', (msg) => {
  if (msg === 'kill') {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return;
  }
  child.send(msg, (err) => {
    if (err) parentPort.postMessage({ kind: 'error', message: err.message });
  });
});
