import test from 'ava';
import { memoryIdOf } from '../../core/ids.js';
import type { ConversationPayload, MessageRole, PositionedEvent } from '../../core/model.js';
import type { CandidateUnit, SessionTurn } from '../../core/pipeline.js';
import { ValidationError } from '../../core/errors.js';
import { extract, withCaptions } from '../../activities/extract/extract.js';

const SCOPE = { tenantId: 'acme', userId: 'u-1' };
/** Wednesday 2023-05-10, 12:00 UTC. */
const T0 = Date.UTC(2023, 4, 10, 12);
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Builds positioned events with increasing offsets. */
function builder() {
  let offset = 100;
  const event = (eventId: string, occurredAt: number, payload: ConversationPayload, sessionId = 's1'): PositionedEvent => ({
    event: { eventId, tenantId: SCOPE.tenantId, userId: SCOPE.userId, conversationId: 'c1', sessionId, occurredAt, payload },
    position: { topic: 'conversation-events', partition: 3, offset: offset++ },
  });
  const post = (
    eventId: string,
    occurredAt: number,
    speaker: string,
    text: string,
    opts: { sessionId?: string; role?: MessageRole; captions?: string[]; messageId?: string } = {},
  ): PositionedEvent =>
    event(
      eventId,
      occurredAt,
      {
        type: 'MessagePosted',
        messageId: opts.messageId ?? `m-${eventId}`,
        role: opts.role ?? 'user',
        speaker,
        text,
        attachmentCaptions: opts.captions ?? [],
      },
      opts.sessionId,
    );
  return { event, post };
}

function run(events: PositionedEvent[], sessionTurns: SessionTurn[] = [], opts = {}) {
  return extract({ ...SCOPE, events, sessionTurns }, opts);
}

const byGranularity = (cs: readonly CandidateUnit[], g: string): CandidateUnit[] => cs.filter((c) => c.granularity === g);

test('a message yields an episode at ordinal 0 and facts at 1..n with deterministic ids', (t) => {
  const { post } = builder();
  const out = run([post('e1', T0, 'Caroline', 'I live in Berlin and I work at Google.')]);
  const [episode, ...facts] = out.candidates;
  t.truthy(episode);
  t.is(episode!.kind, 'episode');
  t.is(episode!.granularity, 'turn');
  t.is(episode!.text, 'Caroline: I live in Berlin and I work at Google.');
  t.is(episode!.id, memoryIdOf(SCOPE, 'e1', 'turn', 0));
  t.deepEqual(
    facts.map((f) => [f.id, f.granularity, f.text]),
    [
      [memoryIdOf(SCOPE, 'e1', 'fact', 1), 'fact', 'Caroline lives in Berlin.'],
      [memoryIdOf(SCOPE, 'e1', 'fact', 2), 'fact', 'Caroline works at Google.'],
    ],
  );
  t.is(new Set(out.candidates.map((c) => c.id)).size, out.candidates.length);
  for (const c of out.candidates) {
    t.is(c.sourceEventId, 'e1');
    t.is(c.role, 'user');
    t.is(c.speaker, 'Caroline');
    t.false(c.retraction);
    t.is(c.validFrom, T0);
  }
});

test('every candidate carries the source of its message', (t) => {
  const { post } = builder();
  const out = run([post('e1', T0, 'Caroline', 'My sister Anna lives in Boston.', { messageId: 'dia-1' })]);
  t.true(out.candidates.length >= 3);
  for (const c of out.candidates) {
    t.deepEqual(c.sources, [
      { eventId: 'e1', messageId: 'dia-1', conversationId: 'c1', sessionId: 's1', topic: 'conversation-events', partition: 3, offset: 100 },
    ]);
  }
});

test('the same input gives the same output', (t) => {
  const events = (): PositionedEvent[] => {
    const { post, event } = builder();
    return [
      post('e1', T0, 'Caroline', 'I went to a support group last Tuesday. It was powerful!'),
      post('e2', T0 + MIN, 'Melanie', 'Wow! My kids love pottery, we went to a class yesterday.', { role: 'assistant' }),
      event('e3', T0 + 2 * MIN, { type: 'SessionEnded' }),
    ];
  };
  t.deepEqual(run(events()), run(events()));
});

test('ids differ across events, granularities and tenants', (t) => {
  const { post } = builder();
  const a = run([post('e1', T0, 'Caroline', 'I love jazz.'), post('e2', T0 + MIN, 'Caroline', 'I love jazz.')]);
  const ids = a.candidates.map((c) => c.id);
  t.is(new Set(ids).size, ids.length);
  const other = extract({ tenantId: 'other', userId: 'u-1', sessionTurns: [], events: [
    { ...post('e1', T0, 'Caroline', 'I love jazz.'), event: { ...post('e1', T0, 'Caroline', 'I love jazz.').event, tenantId: 'other' } },
  ] });
  t.notDeepEqual(other.candidates.map((c) => c.id), ids.slice(0, 2));
});

test('low-information turns yield the episode only, with a low importance, and are not buffered', (t) => {
  const { post } = builder();
  for (const text of ['ok', 'haha', 'lol', 'thanks!', 'hey there!', 'Love it']) {
    const out = run([post(`e-${text}`, T0, 'Caroline', text)]);
    t.is(out.candidates.length, 1, text);
    t.is(out.candidates[0]!.kind, 'episode');
    t.true(out.candidates[0]!.importance <= 0.1, text);
    t.deepEqual(out.sessionTurns, []);
  }
  t.deepEqual(run([post('e-emoji', T0, 'Caroline', '😂🎉')]).candidates, []);
});

test('facts are more important than episodes; personal facts more than small talk', (t) => {
  const { post } = builder();
  const out = run([
    post('e1', T0, 'Caroline', 'I moved to Berlin and I love my new apartment there.'),
    post('e2', T0 + MIN, 'Caroline', 'The weather was nice today, we walked around a bit.'),
  ]);
  const episodes = out.candidates.filter((c) => c.kind === 'episode');
  const facts = out.candidates.filter((c) => c.granularity === 'fact');
  t.true(facts.length > 0);
  const maxEpisode = Math.max(...episodes.map((c) => c.importance));
  for (const f of facts) t.true(f.importance > maxEpisode, f.text);
  for (const c of out.candidates) t.true(c.importance >= 0 && c.importance <= 1);
  const lives = facts.find((f) => f.triple?.predicate === 'lives_in');
  t.truthy(lives);
  t.true(lives!.importance >= 0.8);
});

test('attachment captions are appended to the episode text', (t) => {
  const { post } = builder();
  t.is(withCaptions('Look at this!', ['a dog on a beach']), 'Look at this! [image: a dog on a beach]');
  const out = run([post('e1', T0, 'Melanie', 'Look what I made!', { captions: ['a clay bowl painted blue'] })]);
  t.is(out.candidates[0]!.text, 'Melanie: Look what I made! [image: a clay bowl painted blue]');
  t.true(out.candidates[0]!.keywords.includes('bowl'));
});

test('entities include people and places, and the speaker when the fact is about them', (t) => {
  const { post } = builder();
  const out = run([post('e1', T0, 'Caroline', 'My sister Anna lives in Boston and we visited Paris with John last year.')]);
  const episode = out.candidates[0]!;
  for (const e of ['Caroline', 'Anna', 'Boston', 'Paris', 'John']) t.true(episode.entities.includes(e), e);
  const lives = out.candidates.find((c) => c.triple?.predicate === 'lives_in')!;
  t.deepEqual(lives.triple, { subject: 'Anna', predicate: 'lives_in', object: 'Boston' });
  t.true(lives.entities.includes('Anna'));
  t.true(lives.entities.includes('Boston'));
  const third = run([post('e2', T0, 'Caroline', 'Melanie lives in Denver.')]).candidates[1]!;
  t.true(third.entities.includes('Melanie'));
  t.true(third.entities.includes('Denver'));
  t.false(third.entities.includes('Caroline'));
});

test('keywords are content words, at most eight, without the speaker', (t) => {
  const { post } = builder();
  const out = run([post('e1', T0, 'Caroline', 'Caroline here! I have been painting landscapes and sunsets, and my paintings sell at the local art fair every summer.')]);
  const kw = out.candidates[0]!.keywords;
  t.true(kw.length > 0 && kw.length <= 8);
  t.true(kw.includes('painting'));
  t.false(kw.includes('caroline'));
  t.false(kw.some((k) => ['the', 'and', 'have', 'been', 'my'].includes(k)));
});

test('SessionEnded summarises the buffered turns of that session and empties them from the buffer', (t) => {
  const { post, event } = builder();
  const out = run([
    post('e1', T0, 'Caroline', 'I went to a LGBTQ support group yesterday and it was so powerful.'),
    post('e2', T0 + MIN, 'Melanie', 'That is amazing! I spent the weekend painting with my kids.', { role: 'assistant' }),
    post('e3', T0 + 2 * MIN, 'Caroline', 'ok'),
    post('o1', T0 + 2 * MIN, 'Caroline', 'I also adopted a puppy named Oscar.', { sessionId: 's2' }),
    event('e4', T0 + 3 * MIN, { type: 'SessionEnded' }),
  ]);
  const [summary, ...rest] = byGranularity(out.candidates, 'session');
  t.is(rest.length, 0);
  t.truthy(summary);
  t.is(summary!.id, memoryIdOf(SCOPE, 'session:s1', 'session', 0));
  t.is(summary!.sourceEventId, 'session:s1');
  t.is(summary!.kind, 'summary');
  t.deepEqual(summary!.sources.map((s) => s.eventId), ['e1', 'e2']);
  t.is(summary!.validFrom, T0);
  t.regex(summary!.text, /^Conversation on 2023-05-10 with Caroline and Melanie\. /);
  t.regex(summary!.text, /support group/);
  t.regex(summary!.text, /painting/);
  t.true(summary!.entities.includes('Caroline') && summary!.entities.includes('Melanie'));
  t.deepEqual(out.sessionTurns.map((s) => s.sessionId), ['s2']);
});

test('a buffered session is summarised when a message arrives after the gap', (t) => {
  const { post } = builder();
  const first = run([
    post('e1', T0, 'Caroline', 'I started a new job at the hospital this week.'),
    post('e2', T0 + MIN, 'Melanie', 'Congrats! How are your new colleagues treating you?'),
  ]);
  t.is(first.sessionTurns.length, 2);
  t.is(byGranularity(first.candidates, 'session').length, 0);
  // Within the gap: nothing happens to session s1.
  const near = run([post('e3', T0 + 2 * HOUR, 'Caroline', 'They are great, I really love the team.', { sessionId: 's2' })], first.sessionTurns);
  t.is(byGranularity(near.candidates, 'session').length, 0);
  // Seven hours later, in another session: s1 is summarised and leaves the buffer.
  const later = run([post('e4', T0 + 7 * HOUR, 'Caroline', 'Back home now, I am cooking pasta tonight.', { sessionId: 's3' })], first.sessionTurns);
  const summaries = byGranularity(later.candidates, 'session');
  t.is(summaries.length, 1);
  t.is(summaries[0]!.id, memoryIdOf(SCOPE, 'session:s1', 'session', 0));
  t.deepEqual(later.sessionTurns.map((s) => s.sessionId), ['s3']);
  // A custom gap applies too.
  const custom = run([post('e5', T0 + 2 * HOUR, 'Caroline', 'Back home now, I am cooking pasta tonight.', { sessionId: 's3' })], first.sessionTurns, { sessionGapMs: HOUR });
  t.is(byGranularity(custom.candidates, 'session').length, 1);
});

test('a session with a single buffered turn is dropped without a summary', (t) => {
  const { post, event } = builder();
  const out = run([post('e1', T0, 'Caroline', 'I started a new job at the hospital.'), event('e2', T0 + MIN, { type: 'SessionEnded' })]);
  t.is(byGranularity(out.candidates, 'session').length, 0);
  t.deepEqual(out.sessionTurns, []);
});

test('the buffer keeps at most maxTurnsPerSession turns per session', (t) => {
  const { post } = builder();
  const events = Array.from({ length: 6 }, (_, i) => post(`e${i}`, T0 + i * MIN, 'Caroline', `Today I painted picture number ${i} in my studio.`));
  const out = run(events, [], { maxTurnsPerSession: 4 });
  t.deepEqual(out.sessionTurns.map((s) => s.source.eventId), ['e2', 'e3', 'e4', 'e5']);
});

test('an edit retires the message and re-extracts the new text under the edit event id', (t) => {
  const { post, event } = builder();
  const first = run([post('e1', T0, 'Caroline', 'I live in Berlin.', { messageId: 'm1', role: 'user' })]);
  const out = run(
    [event('e2', T0 + 5 * MIN, { type: 'MessageEdited', messageId: 'm1', text: 'I live in Munich.' })],
    first.sessionTurns,
  );
  t.deepEqual(out.lifecycle, [{ type: 'retireMessage', messageId: 'm1', reason: 'message edited', causationId: 'e2', at: T0 + 5 * MIN }]);
  t.deepEqual(out.candidates.map((c) => c.text), ['Caroline: I live in Munich.', 'Caroline lives in Munich.']);
  t.deepEqual(out.candidates.map((c) => c.id), [memoryIdOf(SCOPE, 'e2', 'turn', 0), memoryIdOf(SCOPE, 'e2', 'fact', 1)]);
  t.notDeepEqual(out.candidates.map((c) => c.id), first.candidates.map((c) => c.id));
  for (const c of out.candidates) {
    t.is(c.speaker, 'Caroline');
    t.is(c.sources[0]!.eventId, 'e2');
    t.is(c.sources[0]!.messageId, 'm1');
  }
  // The buffered turn now has the new text.
  t.deepEqual(out.sessionTurns.map((s) => s.text), ['I live in Munich.']);
});

test('an edit of an unknown message defaults to role user and the user id as speaker', (t) => {
  const { event } = builder();
  const out = run([event('e9', T0, { type: 'MessageEdited', messageId: 'gone', text: 'I work at Siemens.' })]);
  t.deepEqual(out.candidates.map((c) => [c.role, c.speaker]), [['user', 'u-1'], ['user', 'u-1']]);
  t.deepEqual(out.candidates[1]!.triple, { subject: 'u-1', predicate: 'works_at', object: 'Siemens' });
});

test('an edit in the same batch takes role and speaker from the original and drops its units', (t) => {
  const { post, event } = builder();
  const out = run([
    post('e1', T0, 'Melanie', 'I live in Berlin.', { messageId: 'm1', role: 'assistant' }),
    event('e2', T0 + MIN, { type: 'MessageEdited', messageId: 'm1', text: 'I live in Munich.' }),
  ]);
  t.deepEqual(out.candidates.map((c) => [c.sourceEventId, c.role, c.speaker]), [['e2', 'assistant', 'Melanie'], ['e2', 'assistant', 'Melanie']]);
});

test('a redaction retires the message and removes it from the buffer', (t) => {
  const { post, event } = builder();
  const first = run([post('e1', T0, 'Caroline', 'My password hint is my dog Rex.', { messageId: 'm1' })]);
  t.is(first.sessionTurns.length, 1);
  const out = run([event('e2', T0 + MIN, { type: 'MessageRedacted', messageId: 'm1', reason: 'pii' })], first.sessionTurns);
  t.deepEqual(out.lifecycle, [{ type: 'retireMessage', messageId: 'm1', reason: 'message redacted', causationId: 'e2', at: T0 + MIN }]);
  t.deepEqual(out.candidates, []);
  t.deepEqual(out.sessionTurns, []);
});

test('forget requests become forget commands; forgetting the user clears the batch and the buffer', (t) => {
  const { post, event } = builder();
  const out = run([
    post('e1', T0, 'Caroline', 'I live in Berlin.', { messageId: 'm1' }),
    event('e2', T0 + MIN, { type: 'ForgetRequested', scope: 'memory', targetId: 'mem-1', reason: null }),
    event('e3', T0 + 2 * MIN, { type: 'ForgetRequested', scope: 'message', targetId: 'm1', reason: 'asked' }),
  ]);
  t.deepEqual(out.lifecycle, [
    { type: 'forgetMemory', memoryId: 'mem-1', reason: 'forget requested', causationId: 'e2' },
    { type: 'forgetMessage', messageId: 'm1', reason: 'asked', causationId: 'e3' },
  ]);
  t.deepEqual(out.candidates, []);
  t.deepEqual(out.sessionTurns, []);

  const first = run([post('e4', T0, 'Caroline', 'I live in Berlin.')]);
  const gone = run(
    [post('e5', T0 + MIN, 'Caroline', 'I work at Google.'), event('e6', T0 + 2 * MIN, { type: 'ForgetRequested', scope: 'user', targetId: null, reason: 'gdpr' })],
    first.sessionTurns,
  );
  t.deepEqual(gone.lifecycle, [{ type: 'forgetUser', reason: 'gdpr', causationId: 'e6' }]);
  t.deepEqual(gone.candidates, []);
  t.deepEqual(gone.sessionTurns, []);
});

test('feedback on a memory becomes a feedback command', (t) => {
  const { event } = builder();
  const out = run([
    event('e1', T0, { type: 'FeedbackGiven', memoryId: 'mem-7', messageId: null, rating: 'down', comment: 'wrong' }),
    event('e2', T0, { type: 'FeedbackGiven', memoryId: null, messageId: 'm1', rating: 'up', comment: null }),
  ]);
  t.deepEqual(out.lifecycle, [{ type: 'feedback', memoryId: 'mem-7', rating: 'down', causationId: 'e1' }]);
});

test('retractions are carried as candidates with retraction set', (t) => {
  const { post } = builder();
  const out = run([post('e1', T0, 'Caroline', "I don't live in Berlin anymore.")]);
  const facts = byGranularity(out.candidates, 'fact');
  t.deepEqual(facts.map((f) => [f.retraction, f.triple, f.text]), [
    [true, { subject: 'Caroline', predicate: 'lives_in', object: 'Berlin' }, 'Caroline no longer lives in Berlin.'],
  ]);
});

test('events of another user are rejected', (t) => {
  const { post } = builder();
  const e = post('e1', T0, 'Caroline', 'hi');
  const foreign: PositionedEvent = { ...e, event: { ...e.event, userId: 'someone-else' } };
  t.throws(() => run([foreign]), { instanceOf: ValidationError });
  t.throws(() => extract({ tenantId: 'bad tenant', userId: 'u', events: [], sessionTurns: [] }), { instanceOf: ValidationError });
});

test('session summaries are bounded, leave captions out and pick informative sentences', (t) => {
  const { post, event } = builder();
  const chatter = Array.from({ length: 12 }, (_, i) =>
    post(`c${i}`, T0 + i * MIN, i % 2 === 0 ? 'Caroline' : 'Melanie', i === 5 ? 'My daughter Emma turned 7 and we celebrated at the Boston aquarium.' : 'That sounds really nice, so glad to hear it.', {
      captions: i === 3 ? ['a photo of a cake'] : [],
    }),
  );
  const out = run([...chatter, event('end', T0 + 20 * MIN, { type: 'SessionEnded' })], [], { summaryMaxSentences: 3, summaryMaxChars: 200 });
  const summary = out.candidates.find((c) => c.kind === 'summary')!;
  t.truthy(summary);
  t.regex(summary.text, /Boston aquarium/);
  t.notRegex(summary.text, /\[image:/);
  t.true(summary.text.length < 300);
  // Provenance is what the summary says: the turns its sentences were taken from, in order.
  t.true(summary.sources.length >= 1 && summary.sources.length <= 3);
  t.true(summary.sources.some((s) => s.messageId === 'm-c5'), 'the aquarium turn is cited');
  const ids = summary.sources.map((s) => Number(s.messageId.slice(3)));
  t.deepEqual(ids, [...ids].sort((a, b) => a - b));
  t.is(summary.role, 'system');
  t.is(summary.speaker, 'Caroline, Melanie');
});

test('any text: no throw, deterministic, distinct ids, importance in 0..1, sources carried', async (t) => {
  const fc = await import('fast-check');
  const words = fc.constantFrom('I', 'my', 'sister', 'Anna', 'live', 'in', 'Boston', 'love', 'not', "don't", 'anymore', 'last', 'Tuesday', 'went', 'to', 'the', 'a', 'dog', 'named', 'Max', '.', ',', '?', 'forget', 'that', 'favourite', 'is', 'ok', '😂', 'and', 'work', 'at', 'we', 'she', 'next', 'month');
  const text = fc.oneof(fc.string({ maxLength: 80 }), fc.array(words, { maxLength: 30 }).map((ws) => ws.join(' ')));
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), (texts) => {
      const make = (): PositionedEvent[] => {
        const { post } = builder();
        return texts.map((x, i) => post(`p${i}`, T0 + i * MIN, 'Caroline', x));
      };
      const a = run(make());
      t.deepEqual(a, run(make()));
      const ids = a.candidates.map((c) => c.id);
      t.is(new Set(ids).size, ids.length);
      for (const c of a.candidates) {
        t.true(c.importance >= 0 && c.importance <= 1);
        t.is(c.sources.length, 1);
        t.true(c.text.length > 0);
        if (c.triple) t.true(c.triple.subject.length > 0 && c.triple.object.length > 0);
      }
    }),
    { numRuns: 60, seed: 42 },
  );
});

test('he/she resolves to the person the speaker named in a recent turn of the same session, also across batches', (t) => {
  const { post } = builder();
  const triples = (cs: readonly CandidateUnit[]) => byGranularity(cs, 'fact').map((c) => c.triple);
  const first = run([post('e1', T0, 'Maya', 'Priya got engaged last weekend!'), post('e2', T0 + MIN, 'Maya', 'She lives in Leeds now, actually.')]);
  t.deepEqual(triples(first.candidates).slice(-1), [{ subject: 'Priya', predicate: 'lives_in', object: 'Leeds' }]);
  // The next batch sees the buffered turns.
  const later = run([post('e3', T0 + 2 * MIN, 'Maya', 'She works at the BBC.')], first.sessionTurns);
  t.deepEqual(triples(later.candidates), [{ subject: 'Priya', predicate: 'works_at', object: 'BBC' }]);
  // Another session knows nobody: nothing is guessed.
  const other = run([post('e4', T0 + 3 * MIN, 'Maya', 'She lives in Leeds.', { sessionId: 's2' })], first.sessionTurns);
  t.deepEqual(triples(other.candidates), []);
});

test("a generic assistant's first-person sentences are about itself: no facts; its claims about others are kept", (t) => {
  const { post } = builder();
  const out = run([
    post('e1', T0, 'Assistant', "I can't check live weather, sorry.", { role: 'assistant' }),
    post('e2', T0 + MIN, 'Assistant', 'Bob lives in Madrid.', { role: 'assistant' }),
  ]);
  t.deepEqual(byGranularity(out.candidates, 'fact').map((c) => c.triple), [{ subject: 'Bob', predicate: 'lives_in', object: 'Madrid' }]);
});
