/**
 * The EventLog contract on the embedded SQLite log. Each case gets its own file; `reopen` opens
 * the same file again, as a restarted process would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { EventLog } from '../../core/ports.js';
import { SqliteEventLog } from '../../infra/embedded/event-log.js';
import { eventLogContract } from '../contracts/event-log.contract.js';

eventLogContract(
  test,
  'sqlite',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
    const file = path.join(dir, 'log.sqlite');
    let log: EventLog = SqliteEventLog.open(file);
    return {
      log,
      topic: (name) => name,
      async reopen() {
        await log.close();
        log = SqliteEventLog.open(file);
        return log;
      },
      async close() {
        await log.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { dedupByKey: true },
);
