/**
 * The cluster profile's roles as `engram` subcommands: `ingest`, `worker`, `project` and `serve`
 * (with ENGRAM_PROFILE=cluster). Each opens only the ports it needs, runs until SIGTERM/SIGINT,
 * then finishes its current step and closes its connections.
 */
import { ConfigError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import { createActivities } from '../../activities/index.js';
import { systemClock } from '../../core/random.js';
import type { Config } from '../../infra/config.js';
import { ClusterResources } from '../../infra/profile/cluster.js';
import { connectTemporal, temporalHandOff } from '../../infra/cluster/temporal-handoff.js';
import { GraphProjection } from '../../streams/projectors/graph-projection.js';
import { ProjectorRunner } from '../../streams/projectors/projector-runner.js';
import { StoreProjection } from '../../streams/projectors/store-projection.js';
import { VectorProjection } from '../../streams/projectors/vector-projection.js';
import { awaitProjections } from '../../streams/projectors/watermark.js';
import { ClusterService } from '../cluster-service.js';
import { runIngest } from '../roles/ingest.js';
import { shutdownSignal } from '../roles/lifecycle.js';
import { runProjectors } from '../roles/project.js';
import { accessRecorder, forgettingOf, guardOf, sealerOf } from '../composition.js';
import { runWorker } from '../roles/worker.js';
import { startServer, type ServerOptions } from '../server/http.js';
import { servePlugins } from '../server/surfaces.js';
import { instrumentActivities } from '../../infra/observability/instrument-activities.js';
import { instrumentProjections, meteredDeadLetters, meteredHandOff, projectorLagSource } from '../../infra/observability/instrument-streams.js';
import { logger } from '../../infra/observability/logger.js';
import { registerLagSource } from '../../infra/observability/metrics.js';
import { startObservability } from '../../infra/observability/setup.js';
import { tracedClient } from '../../infra/observability/temporal-tracing.js';

/** Role messages as JSON log lines (pino, with trace ids). */
const print = (line: string): void => {
  logger().info(line);
};

/** Refuses to start a cluster role on the embedded profile, with what to do instead. */
export function assertClusterProfile(config: Config, role: string): void {
  if (config.profile !== 'cluster') {
    throw new ConfigError(
      `\`engram ${role}\` is a cluster-profile role: set ENGRAM_PROFILE=cluster and the server addresses (compose.yaml). ` +
        'On the embedded profile, `engram process` and `engram serve` run the whole pipeline in one process.',
    );
  }
}

/** Runs `body` with the role's resources, closing them however it ends. */
async function withResources(config: Config, role: string, body: (r: ClusterResources, signal: AbortSignal) => Promise<void>): Promise<void> {
  assertClusterProfile(config, role);
  const observability = await startObservability(config, role);
  const signal = shutdownSignal(role, print);
  const resources = new ClusterResources(config);
  try {
    await body(resources, signal);
  } finally {
    await resources.close();
    print(`engram ${role}: stopped`);
    await observability.close();
  }
}

/** `engram ingest`: Kafka conversation-events → validation → the user's Temporal workflow. */
export function ingestRole(config: Config): Promise<void> {
  return withResources(config, 'ingest', async (r, signal) => {
    const log = await r.log();
    const client = tracedClient(r.track(await connectTemporal(config), (c) => c.connection.close()));
    const handOff = temporalHandOff(client, {
      taskQueue: r.settings.temporalTaskQueue,
      batchSize: config.batchSize,
      decayIntervalMs: config.forgetIntervalMs,
    });
    const opener = sealerOf(config, r.keys());
    print(`engram ingest: bridging conversation-events to Temporal task queue ${r.settings.temporalTaskQueue}`);
    const totals = await runIngest({ log: meteredDeadLetters(log), handOff: meteredHandOff(handOff), signal, print, opener });
    print(`engram ingest: ${totals.read} read, ${totals.handedOff} handed off, ${totals.deadLettered} dead-lettered`);
  });
}

/** `engram worker`: the Temporal worker running the memory workflow and its activities. */
export function workerRole(config: Config): Promise<void> {
  return withResources(config, 'worker', async (r, signal) => {
    const log = await r.log();
    const { embedder } = r.embedder();
    const { store, memoryDb } = r.store(embedder.dimensions);
    const { vectors, checkpoints } = await r.vectors(embedder);
    const watched = [
      { name: 'memory-store', checkpoints: memoryDb.checkpoints },
      { name: 'vector-index', checkpoints },
    ];
    const activities = instrumentActivities(createActivities({
      log,
      embedder,
      store,
      vectors,
      clock: systemClock,
      // The projector role applies memory-events; consolidation waits until it has read its own writes.
      awaitProjection: (position: LogPosition) => awaitProjections(watched, position),
      llm: r.llm(),
      sealer: sealerOf(config, r.keys()),
      options: { forgetting: forgettingOf(config), guard: guardOf(config) },
    }));
    print(`engram worker: polling task queue ${r.settings.temporalTaskQueue} in namespace ${r.settings.temporalNamespace}`);
    await runWorker({ config, activities, shutdownSignal: signal });
  });
}

/** `engram project`: memory-events → memory store, Qdrant and Neo4j, each with its own checkpoint. */
export function projectRole(config: Config): Promise<void> {
  return withResources(config, 'project', async (r, signal) => {
    const log = await r.log();
    const { embedder } = r.embedder();
    const { store, memoryDb } = r.store(embedder.dimensions);
    const { vectors, checkpoints } = await r.vectors(embedder);
    const graph = await r.graph();
    const projections = instrumentProjections([new StoreProjection(store, memoryDb.checkpoints), new VectorProjection(vectors, checkpoints), new GraphProjection(graph, graph)]);
    const runner = new ProjectorRunner(log, projections, 512, sealerOf(config, r.keys()));
    r.track(registerLagSource(projectorLagSource(log, projections)), (unregister) => unregister());
    print('engram project: projecting memory-events into the memory store, Qdrant and Neo4j');
    const applied = await runProjectors(runner, signal, print);
    print(`engram project: ${applied} records applied`);
  });
}

/** `engram serve` on the cluster profile: the API over Kafka, Qdrant, Neo4j and the store. */
export function serveClusterRole(config: Config, listen: { port: number; host: string } & ServerOptions): Promise<void> {
  return withResources(config, 'serve', async (r, signal) => {
    const log = await r.log();
    const { embedder } = r.embedder();
    const { store, memoryDb } = r.store(embedder.dimensions);
    const { vectors } = await r.vectors(embedder);
    const graph = await r.graph();
    const sealer = sealerOf(config, r.keys());
    const service = new ClusterService({
      guard: config.guard === 'on',
      checkpoints: memoryDb.checkpoints,
      log,
      embedder,
      vectors,
      store,
      graph,
      sealer,
      clock: systemClock,
      forgetting: forgettingOf(config),
      recordAccess: accessRecorder(log, sealer),
    });
    const server = await startServer(service, { ...listen, plugins: servePlugins(service, config) });
    print(`engram API (cluster profile) listening on ${server.url}`);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await server.close();
  });
}
