/**
 * Ingest benchmark (embedded profile): synthetic conversations published and processed end to end
 * (publish → searchable), against the offline embedder alone on the same texts, in the same run.
 * Prints a table; `--json FILE` writes the figures.
 *
 *   npm run bench:ingest -- [--users N] [--messages N] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UseLiteEmbedder } from '../infra/embedder/use-lite.js';
import { openTestEngine, removeDir, tempDir } from '../test/helpers/engine.js';
import { syntheticConversations } from '../test/helpers/synthetic.js';

const { values } = parseArgs({
  options: { users: { type: 'string', default: '4' }, messages: { type: 'string', default: '100' }, json: { type: 'string' } },
});
const users = Number(values.users);
const messages = Number(values.messages);
const events = syntheticConversations({ users, messages, seed: 11 });

const dir = tempDir('engram-bench-');
const engine = await openTestEngine(dir);
const t0 = performance.now();
await engine.publish(events);
const stats = await engine.runUntilIdle();
const ingestSeconds = (performance.now() - t0) / 1000;
const replayStart = performance.now();
const replay = await engine.replay();
const replaySeconds = (performance.now() - replayStart) / 1000;
const peakRss = process.memoryUsage().rss / 2 ** 20;
await engine.close();
removeDir(dir);

// The embedder alone, on the texts the pipeline embedded (messages as episodes), same process.
const texts = events.flatMap((e) => (e.payload.type === 'MessagePosted' ? [`${e.payload.speaker}: ${e.payload.text}`] : []));
const embedder = new UseLiteEmbedder();
await embedder.embed(['warm-up']);
const e0 = performance.now();
await embedder.embed(texts);
const embedSeconds = (performance.now() - e0) / 1000;

const result = {
  events: events.length,
  memory_events: stats.memoryEvents,
  ingest_seconds: Number(ingestSeconds.toFixed(3)),
  ingest_eps: Number((events.length / ingestSeconds).toFixed(1)),
  embed_only_eps: Number((texts.length / embedSeconds).toFixed(1)),
  ingest_vs_embed: Number((events.length / ingestSeconds / (texts.length / embedSeconds)).toFixed(3)),
  rebuild_eps: Number((replay.events / replaySeconds).toFixed(1)),
  rebuild_model_calls: replay.modelCalls,
  peak_rss_mb: Number(peakRss.toFixed(0)),
};
console.table([
  { measure: 'events ingested', value: result.events },
  { measure: 'memory events', value: result.memory_events },
  { measure: 'ingest, events/s (publish → searchable)', value: result.ingest_eps },
  { measure: 'embedder alone, texts/s', value: result.embed_only_eps },
  { measure: 'ingest / embedder', value: result.ingest_vs_embed },
  { measure: 'rebuild, memory events/s', value: result.rebuild_eps },
  { measure: 'model calls during rebuild', value: result.rebuild_model_calls },
  { measure: 'peak RSS, MB', value: result.peak_rss_mb },
]);
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
