/**
 * compose.yaml is validated by docker-compose itself (`config -q` checks it against the Compose
 * schema without a Docker engine) and checked for what operators rely on: Engram's roles built
 * from the Dockerfile, health-gated start order, named volumes and the ports a person opens.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const composeFile = `${ROOT}compose.yaml`;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };

const hasComposeTool = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
const withTool = hasComposeTool ? test : test.skip;
if (!hasComposeTool) console.warn('docker-compose is not installed (Debian package docker-compose): the schema validation is skipped; .ci/run installs it');

withTool('docker-compose accepts compose.yaml', (t) => {
  const r = spawnSync('docker-compose', ['-f', composeFile, 'config', '-q'], { encoding: 'utf8', cwd: ROOT });
  t.is(r.status, 0, r.stderr);
});

test('the engines and Engram roles are all there', (t) => {
  const names = Object.keys(compose.services);
  for (const s of ['kafka', 'temporal', 'temporal-ui', 'qdrant', 'neo4j', 'engram-ingest', 'engram-worker', 'engram-projector', 'engram-api']) {
    t.true(names.includes(s), s);
  }
});

test('Engram roles are built from the Dockerfile and started as engram subcommands on the cluster profile', (t) => {
  const roles: Record<string, string> = { 'engram-ingest': 'ingest', 'engram-worker': 'worker', 'engram-projector': 'project', 'engram-api': 'serve' };
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  t.regex(dockerfile, /ENTRYPOINT \["node", "bin\/engram.js"\]/);
  for (const [service, command] of Object.entries(roles)) {
    const s = compose.services[service] as Service;
    t.truthy(s.build, `${service} is built`);
    t.is(s.command?.[0], command);
    t.is(s.environment?.ENGRAM_PROFILE, 'cluster');
    for (const name of ['ENGRAM_KAFKA_BROKERS', 'ENGRAM_TEMPORAL_ADDRESS', 'ENGRAM_QDRANT_URL', 'ENGRAM_NEO4J_URL']) t.truthy(s.environment?.[name], `${service} ${name}`);
    for (const dep of ['kafka', 'temporal', 'qdrant', 'neo4j']) t.is(s.depends_on?.[dep]?.condition, 'service_healthy', `${service} waits for ${dep}`);
  }
});

test('every long-running service has a health check and stateful ones use named volumes', (t) => {
  for (const [name, s] of Object.entries(compose.services)) {
    if (name === 'temporal-ui') continue;
    t.truthy(s.healthcheck?.test, `${name} has a health check`);
  }
  for (const [service, volume] of [
    ['kafka', 'kafka-data'],
    ['qdrant', 'qdrant-data'],
    ['neo4j', 'neo4j-data'],
    ['engram-projector', 'engram-state'],
  ] as const) {
    t.true((compose.services[service]?.volumes ?? []).some((v) => v.startsWith(`${volume}:`)), `${service} mounts ${volume}`);
    t.true(volume in compose.volumes, `${volume} is declared`);
  }
});

test('the ports a person opens are published', (t) => {
  const published = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
  for (const port of ['8080', '8233', '7474', '6333', '9092', '7233', '7687']) t.true(published.includes(port), port);
});
