// The background WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the
// database copies committed WAL frames into the file every `intervalMs` (PASSIVE: it never waits
// for, nor blocks, the writer), until told to stop. Plain JavaScript: it needs only better-sqlite3.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData;
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let stopped = false;
let timer = null;

function tick() {
  timer = null;
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or locked: the next tick tries again; the writer's own final checkpoint settles the rest.
  }
  if (!stopped) timer = setTimeout(tick, intervalMs);
}

parentPort.on('message', (msg) => {
  if (msg !== 'stop') return;
  stopped = true;
  if (timer !== null) clearTimeout(timer);
  db.close();
  parentPort.postMessage('stopped');
  parentPort.close();
});
timer = setTimeout(tick, intervalMs);
