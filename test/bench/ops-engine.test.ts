import test from 'ava';
import { FIXTURE_DIR, loadFixture, sliceFixture } from '../../bench/ops/fixture.js';
import { observe } from '../../bench/ops/observe.js';
import { describeLlm, benchConfig, offlineEnv, runFixture } from '../../bench/ops/run.js';
import { score } from '../../bench/ops/score.js';

test('a slice of the fixture runs through the real engine and the scorer sees its memories', async (t) => {
  // Two sessions of one user: small enough for CI, with facts, a duplicate and a low-information turn.
  const slice = sliceFixture(loadFixture(FIXTURE_DIR), ['maya'], 2);
  const progress: number[] = [];
  const run = await runFixture(slice, offlineEnv({}), (done) => progress.push(done));
  t.is(run.conversationEvents, slice.waves.reduce((n, w) => n + w.length, 0));
  t.is(progress.at(-1), run.conversationEvents);
  t.is(run.deadLettered, 0);
  t.true(run.events.length > 0);

  const observed = observe(run.events, slice);
  const messageIds = new Set(slice.messages.map((m) => m.messageId));
  t.true(observed.units.length > 0);
  for (const u of observed.units) t.true(messageIds.has(u.messageId), u.messageId);

  const { score: s, details } = score(slice, observed);
  t.is(s.counts.messages, slice.messages.length);
  t.is(s.counts.producedUnits, observed.units.length);
  // No quality threshold: only that produced memories reach the scorer and are matched to labels.
  t.true(s.extraction.lenient.correct > 0);
  t.true(details.facts.some((f) => f.unit !== null && f.unit.memoryId.length > 0));
  t.is(s.extraction.assistantTurns.turns, slice.messages.filter((m) => m.role === 'assistant').length);
});

test('the offline column ignores language-model settings', (t) => {
  const env = { ENGRAM_LLM_BASE_URL: 'http://127.0.0.1:9/v1', ENGRAM_LLM_MODEL: 'm', ENGRAM_PARTITIONS: '2' };
  t.is(describeLlm(benchConfig(env, '/tmp/x')), 'm at http://127.0.0.1:9/v1');
  t.deepEqual(offlineEnv(env), { ENGRAM_PARTITIONS: '2' });
  t.is(describeLlm(benchConfig(offlineEnv(env), '/tmp/x')), null);
});
