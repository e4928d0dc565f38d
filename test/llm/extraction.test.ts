import test from 'ava';
import { memoryIdOf } from '../../core/ids.js';
import type { ConversationPayload, PositionedEvent } from '../../core/model.js';
import type { CandidateUnit } from '../../core/pipeline.js';
import type { Embedder, EventLog, MemoryStore, VectorIndex } from '../../core/ports.js';
import { createActivities } from '../../activities/index.js';
import { dateMsOf, EXTRACTION_JSON_SCHEMA, EXTRACTION_SYSTEM_PROMPT, llmFactUnits, type ExtractionOutput } from '../../activities/llm/extraction.js';
import { normaliseObject, normalisePredicate, normaliseSubject } from '../../activities/llm/normalise.js';
import { promptHashOf } from '../../activities/llm/structured.js';
import { OpenAiCompatibleClient } from '../../infra/llm/openai-client.js';
import { startFakeLlm, type FakeReply, type FakeRequest } from '../helpers/fake-llm.js';

const SCOPE = { tenantId: 'acme', userId: 'u-1' };
/** Wednesday 2023-05-10, 12:00 UTC. */
const T0 = Date.UTC(2023, 4, 10, 12);
const PRODUCED = { model: 'm-1', promptHash: 'h'.repeat(64) };

type LlmFact = ExtractionOutput['facts'][number];
const fact = (over: Partial<LlmFact>): LlmFact => ({
  text: 'Caroline lives in Berlin.',
  subject: 'Caroline',
  predicate: 'lives_in',
  object: 'Berlin',
  kind: 'fact',
  date: null,
  entities: ['Berlin'],
  keywords: ['berlin'],
  importance: 0.8,
  retraction: false,
  ...over,
});

function post(eventId: string, text: string, occurredAt = T0, offset = 1): PositionedEvent {
  const payload: ConversationPayload = { type: 'MessagePosted', messageId: `m-${eventId}`, role: 'user', speaker: 'Caroline', text, attachmentCaptions: [] };
  return {
    event: { eventId, tenantId: SCOPE.tenantId, userId: SCOPE.userId, conversationId: 'c1', sessionId: 's1', occurredAt, payload },
    position: { topic: 'conversation-events', partition: 0, offset },
  };
}

const episodeOf = (eventId: string, text: string): CandidateUnit => ({
  id: memoryIdOf(SCOPE, eventId, 'turn', 0),
  sourceEventId: eventId,
  kind: 'episode',
  granularity: 'turn',
  text: `Caroline: ${text}`,
  triple: null,
  entities: [],
  keywords: [],
  importance: 0.3,
  validFrom: T0,
  sources: [{ eventId, messageId: `m-${eventId}`, conversationId: 'c1', sessionId: 's1', topic: 'conversation-events', partition: 0, offset: 1 }],
  role: 'user',
  speaker: 'Caroline',
  retraction: false,
});

test('model facts become fact units with deterministic ids, the episode sources and producedBy', (t) => {
  const episode = episodeOf('e1', 'I moved to Berlin and my mom loves jazz.');
  const units = llmFactUnits(
    SCOPE,
    episode,
    {
      facts: [
        fact({ subject: 'I', predicate: 'live in', object: 'the Berlin.', text: 'I live in Berlin.' }),
        fact({ subject: 'my mom', predicate: 'Loves', object: 'jazz', text: "Caroline's mom loves jazz.", kind: 'fact', importance: 0.1 }),
      ],
    },
    PRODUCED,
  );
  t.deepEqual(
    units.map((u) => [u.id, u.granularity, u.kind, u.triple]),
    [
      [memoryIdOf(SCOPE, 'e1', 'fact', 1), 'fact', 'fact', { subject: 'Caroline', predicate: 'lives_in', object: 'Berlin' }],
      [memoryIdOf(SCOPE, 'e1', 'fact', 2), 'fact', 'preference', { subject: "Caroline's mother", predicate: 'likes', object: 'jazz' }],
    ],
  );
  t.is(units[0]?.text, 'Caroline lives in Berlin.', 'first person is replaced by the speaker');
  t.deepEqual(units[0]?.sources, episode.sources);
  t.deepEqual(units[0]?.producedBy, PRODUCED);
  t.is(units[0]?.validFrom, T0);
  t.is(units[1]?.importance, 0.55, 'facts never rank below episodes');
  t.true(units[1]?.entities.includes('Caroline'));
});

test('dated events take the resolved date; duplicates and self-naming facts are dropped', (t) => {
  const units = llmFactUnits(
    SCOPE,
    episodeOf('e2', 'x'),
    {
      facts: [
        fact({ subject: 'Caroline', predicate: null, object: null, kind: 'event', date: '2023-05-09', text: 'Caroline went to a support group on 2023-05-09.' }),
        fact({ subject: 'Caroline', predicate: null, object: null, kind: 'event', date: '2023-05-09', text: 'Caroline went to a support group on 2023-05-09.' }),
        fact({ subject: 'Caroline', predicate: 'name', object: 'Caroline', text: "Caroline's name is Caroline." }),
        fact({ subject: 'Caroline', predicate: 'favorite movies', object: 'Dune', kind: 'fact', retraction: true, text: 'Dune is no longer Caroline’s favourite movie.' }),
      ],
    },
    PRODUCED,
  );
  t.is(units.length, 2);
  t.is(units[0]?.kind, 'event');
  t.is(units[0]?.triple, null);
  t.is(units[0]?.validFrom, Date.UTC(2023, 4, 9, 12));
  t.deepEqual(units[1]?.triple, { subject: 'Caroline', predicate: 'favourite_movie', object: 'Dune' });
  t.is(units[1]?.kind, 'preference');
  t.true(units[1]?.retraction);
});

test('predicates, subjects and objects are normalised to the offline forms', (t) => {
  t.is(normalisePredicate('Lives In'), 'lives_in');
  t.is(normalisePredicate('works-for'), 'works_at');
  t.is(normalisePredicate('occupation'), 'job_title');
  t.is(normalisePredicate('favorite_foods'), 'favourite_food');
  t.is(normalisePredicate('has_mom'), 'has_mother');
  t.is(normalisePredicate('has_dog'), 'has_pet');
  t.is(normalisePredicate('hates'), 'dislikes');
  t.is(normalisePredicate('drives'), 'drives', 'unknown predicates stay, snake-cased');
  t.is(normalisePredicate('  '), null);
  t.is(normaliseSubject('me', 'Caroline'), 'Caroline');
  t.is(normaliseSubject('the user', 'Caroline'), 'Caroline');
  t.is(normaliseSubject('My sis', 'Caroline'), "Caroline's sister");
  t.is(normaliseSubject("Melanie's hubby", 'Caroline'), "Melanie's husband");
  t.is(normaliseSubject('Melanie', 'Caroline'), 'Melanie');
  t.is(normaliseObject('32 years old', 'Caroline', 'age'), '32');
  t.is(normaliseObject('the local hospital.', 'Caroline', 'works_at'), 'local hospital');
  t.is(normaliseObject('my garden', 'Caroline', 'likes'), "Caroline's garden");
  t.is(dateMsOf('2023-02-30'), null);
  t.is(dateMsOf('2023-06'), Date.UTC(2023, 5, 1));
  t.is(dateMsOf('2023-06-01T08:00:00'), Date.UTC(2023, 5, 1, 8));
});

/** Stubs: the extract activity touches no port. */
const unusedPorts = {
  log: {} as EventLog,
  embedder: {} as Embedder,
  store: {} as MemoryStore,
  vectors: {} as VectorIndex,
  clock: { now: () => T0 },
  awaitProjection: async () => {},
};

/** Answers extraction requests from the message text. */
function extractor(req: FakeRequest): FakeReply {
  if (req.userText.includes('drive a Tesla')) {
    return { kind: 'json', value: { facts: [fact({ subject: 'I', predicate: 'drives', object: 'a Tesla', text: 'Caroline drives a Tesla.', entities: ['Tesla'], keywords: ['tesla'] })] } };
  }
  return { kind: 'content', content: 'not json' };
}

test('the extract activity replaces a message’s offline facts with the model’s, and reports usage', async (t) => {
  const fake = await startFakeLlm({ respond: extractor, usage: { prompt: 200, completion: 40 } });
  t.teardown(() => fake.close());
  const llm = new OpenAiCompatibleClient({ baseUrl: fake.url, model: 'cfg', timeoutMs: 5_000, mode: 'json_schema' });
  const acts = createActivities({ ...unusedPorts, llm });

  const out = await acts.extract({
    ...SCOPE,
    events: [post('e1', 'I drive a Tesla and I live in Berlin.', T0, 1), post('e2', 'ok', T0 + 1000, 2), post('e3', 'I work at Google in Zurich.', T0 + 2000, 3)],
    sessionTurns: [],
  });
  const hash = promptHashOf(EXTRACTION_SYSTEM_PROMPT, EXTRACTION_JSON_SCHEMA);

  // e1: the model answered; its fact replaces the offline ones.
  const e1 = out.candidates.filter((c) => c.sourceEventId === 'e1');
  t.deepEqual(e1.map((c) => c.granularity), ['turn', 'fact']);
  t.deepEqual(e1[1]?.triple, { subject: 'Caroline', predicate: 'drives', object: 'Tesla' });
  t.deepEqual(e1[1]?.producedBy, { model: 'fake-model-1', promptHash: hash });
  t.is(e1[0]?.producedBy, undefined, 'the episode stays offline');

  // e2: low-information, never sent. e3: the model's answer was unusable twice: offline facts stay.
  t.is(fake.requests.filter((r) => r.userText.includes('Message:\nok')).length, 0);
  const e3 = out.candidates.filter((c) => c.sourceEventId === 'e3' && c.granularity === 'fact');
  t.true(e3.length > 0);
  t.true(e3.every((c) => c.producedBy === undefined));
  t.true(e3.some((c) => c.triple?.predicate === 'works_at'));

  t.deepEqual(
    out.usage?.map((u) => [u.purpose, u.outcome, u.promptTokens, u.completionTokens, u.promptHash === hash]),
    [
      ['extraction', 'ok', 200, 40, true],
      ['extraction', 'fallback', 400, 80, true],
    ],
  );
  // The request tells the model who speaks and when.
  const first = fake.requests.find((r) => r.userText.includes('drive a Tesla'));
  t.regex(first?.userText ?? '', /Speaker: Caroline \(role: user\)/);
  t.regex(first?.userText ?? '', /Message time: 2023-05-10T12:00:00.000Z \(Wednesday\)/);
  t.is(first?.schemaName, 'memory_extraction');
});

test('without an LLM the extract activity is the offline extractor and reports no usage', async (t) => {
  const acts = createActivities(unusedPorts);
  const out = await acts.extract({ ...SCOPE, events: [post('e1', 'I live in Berlin.')], sessionTurns: [] });
  t.is(out.usage, undefined);
  t.true(out.candidates.some((c) => c.triple?.predicate === 'lives_in' && c.producedBy === undefined));
});
