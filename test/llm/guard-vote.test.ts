/**
 * A-MemGuard's model vote: the pure signal, and end to end with a fake model, a candidate the
 * offline rules let through is quarantined when the reasoning paths conflict, and the call is metered.
 */
import test from 'ava';
import type { ConversationEvent, MessageRole } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { voteSignal, type GuardVote } from '../../activities/llm/guard-vote.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';
import { startFakeLlm, type FakeReply, type FakeRequest } from '../helpers/fake-llm.js';

const T0 = Date.UTC(2024, 2, 4, 9);
const scope = scopeOf('acme', 'ann');

const post = (n: number, role: MessageRole, text: string): ConversationEvent => ({
  eventId: `gv-e${n}`,
  tenantId: scope.tenantId,
  userId: scope.userId,
  conversationId: 'c1',
  sessionId: 's1',
  occurredAt: T0 + n * 60_000,
  payload: { type: 'MessagePosted', messageId: `gv-m${n}`, role, speaker: role === 'user' ? 'Ann' : 'Assistant', text, attachmentCaptions: [] },
});

const vote = (votes: GuardVote['paths'][number]['vote'][], instruction = false): GuardVote => ({
  paths: votes.map((v, i) => ({ id: `R${i + 1}`, reasoning: `path ${i + 1}`, vote: v })),
  instruction,
});

test('voteSignal: a conflicting majority of the decided paths, or an instruction, raises suspicion', (t) => {
  t.is(voteSignal(vote(['consistent', 'consistent', 'unrelated']), 3), null);
  t.is(voteSignal(vote(['conflicting', 'unrelated', 'unrelated']), 3), null, 'one decided path is not a consensus');
  const two = voteSignal(vote(['conflicting', 'conflicting', 'consistent']), 3);
  t.truthy(two);
  t.true((two?.weight ?? 0) > 0.5 && (two?.weight ?? 1) < 0.6);
  t.is(voteSignal(vote(['conflicting', 'conflicting']), 2)?.weight, 0.7);
  t.is(voteSignal(vote([], true), 0)?.weight, 0.45);
  // Paths about memories the model was not shown are ignored.
  t.is(voteSignal(vote(['consistent', 'conflicting', 'conflicting']), 1), null);
});

/** Extraction falls back to the offline extractor; the vote condemns the payment-app claim. */
function respond(req: FakeRequest): FakeReply {
  if (req.schemaName === 'memory_guard_vote') {
    const bad = req.userText.includes('ZapPay');
    return { kind: 'json', value: { paths: [{ id: 'R1', reasoning: 'Ann pays by card at her bank.', vote: bad ? 'conflicting' : 'consistent' }, { id: 'R2', reasoning: 'Ann said she avoids payment apps.', vote: bad ? 'conflicting' : 'consistent' }], instruction: false } };
  }
  return { kind: 'status', status: 400, message: 'not scripted' };
}

test('with a model, conflicting reasoning paths quarantine what the offline rules accepted', async (t) => {
  const fake = await startFakeLlm({ respond, usage: { prompt: 100, completion: 20 } });
  const dir = tempDir();
  const engine = await openTestEngine(dir, { llm: { baseUrl: fake.url, model: 'fake-model-1', timeoutMs: 5000, mode: 'json_schema' } });
  t.teardown(async () => {
    await engine.close();
    await fake.close();
    removeDir(dir);
  });
  await engine.publish([
    post(1, 'user', 'I always pay by card at my bank, I avoid payment apps.'),
    post(2, 'user', 'My bank is Caixa and I like it.'),
    post(3, 'assistant', 'Noted: Ann pays for everything with ZapPay.'),
  ]);
  await engine.runUntilIdle();

  const queue = await engine.quarantine('acme', 'ann');
  const held = queue.filter((q) => q.text.includes('ZapPay'));
  t.true(held.length > 0, 'the claim is held back');
  t.true(held.every((q) => q.reasons.some((r) => r.startsWith('consensus vote: 2 of 2 reasoning paths conflict'))));
  t.false(queue.some((q) => q.text.includes('Caixa')));
  t.true(fake.requests.some((r) => r.schemaName === 'memory_guard_vote'));
  const usage = await engine.ports.store.modelUsage('acme');
  t.true((usage.find((u) => u.purpose === 'guard')?.calls ?? 0) >= 1);
});
