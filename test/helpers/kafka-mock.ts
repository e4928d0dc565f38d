/**
 * Starts librdkafka's mock Kafka cluster (test/kafka-mock/mock-host.c) for wire tests. The C
 * host is compiled once per source version into a cache dir under the OS temp dir; when gcc or
 * the librdkafka headers are missing, the caller gets a reason instead of a cluster.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaEventLogOptions } from '../../infra/cluster/kafka-event-log.js';

const SOURCE = fileURLToPath(new URL('../kafka-mock/mock-host.c', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface KafkaMockTopic {
  readonly name: string;
  readonly partitions: number;
}

export interface KafkaMock {
  readonly brokers: string[];
  stop(): Promise<void>;
}

/** Compiles the host if needed; returns its path or why it cannot be built. */
function buildHost(): { binary: string } | { unavailable: string } {
  if (!fs.existsSync(SOURCE)) return { unavailable: `mock host source missing: ${SOURCE}` };
  const source = fs.readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `engram-kafka-mock-${hash}`);
  const binary = path.join(dir, 'mock-host');
  if (fs.existsSync(binary)) return { binary };
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error) return { unavailable: `gcc not found (${gcc.error.message}); install gcc and librdkafka-dev to run the Kafka wire tests` };
  fs.mkdirSync(dir, { recursive: true });
  // Compile to a private name and rename, so concurrent test processes never run a half-written file.
  const partial = path.join(dir, `mock-host.${process.pid}.tmp`);
  const cc = spawnSync('gcc', ['-O1', '-o', partial, SOURCE, '-lrdkafka'], { encoding: 'utf8' });
  if (cc.status !== 0) {
    fs.rmSync(partial, { force: true });
    const why = (cc.stderr || cc.error?.message || '').split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
    const hint = /rdkafka/.test(why) ? ' (install librdkafka-dev: headers and library)' : '';
    return { unavailable: `cannot build the Kafka mock host: ${why.trim()}${hint}` };
  }
  fs.renameSync(partial, binary);
  return { binary };
}

/**
 * Starts a mock cluster on 127.0.0.1 with these topics pre-created (the mock does not support
 * CreateTopics, and it auto-creates unknown topics with 4 partitions on metadata requests).
 */
export async function startKafkaMock(topics: readonly KafkaMockTopic[]): Promise<KafkaMock | { unavailable: string }> {
  const built = buildHost();
  if ('unavailable' in built) return built;
  const child = spawn(built.binary, topics.map((t) => `${t.name}:${t.partitions}`), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string | Error>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(new Error('no bootstrap address within 10 s')), START_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      resolve(new Error(`mock host exited with ${code}: ${stderr.trim()}`));
    });
  });
  if (address instanceof Error || address === '') {
    child.kill();
    return { unavailable: `Kafka mock did not start: ${address instanceof Error ? address.message : 'empty address'}` };
  }
  // A mock that a test forgets to stop must not keep the test process alive; it exits with our stdin.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
  let stopped: Promise<void> | null = null;
  return {
    brokers: address.split(',').map((b) => b.trim()),
    stop() {
      // Closing stdin is the host's signal to shut down; kill it only if it does not.
      stopped ??= (async () => {
        child.stdin.end();
        let timer: NodeJS.Timeout | undefined = undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
        });
        if ((await Promise.race([exited, late])) === 'late') child.kill('SIGKILL');
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/**
 * KafkaEventLog options for a mock cluster (an unreachable address when it is not running): no
 * idempotent producer (the mock's metadata has no broker 0 for InitProducerId), short group timings.
 */
export function mockLogOptions(mock: KafkaMock | null, extra: Partial<KafkaEventLogOptions> = {}): KafkaEventLogOptions {
  return {
    brokers: mock?.brokers ?? ['127.0.0.1:9'],
    clientId: 'engram-mock-test',
    replicationFactor: 1,
    idempotent: false,
    logLevel: 'nothing',
    connectionTimeoutMs: 2000,
    retries: 2,
    sessionTimeoutMs: 4000,
    rebalanceTimeoutMs: 2000,
    heartbeatIntervalMs: 300,
    maxWaitTimeMs: 100,
    ...extra,
  };
}
