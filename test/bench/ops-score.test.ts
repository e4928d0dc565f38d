import test from 'ava';
import type { Memory, MemoryEvent, MemoryEventPayload, Triple } from '../../core/model.js';
import { buildFixture, postedEventId, redactionEventId, type OpsFixture } from '../../bench/ops/fixture.js';
import { assign, matchLevel, relationForm, stem, strictForm } from '../../bench/ops/match.js';
import { observe, type Observed, type ProducedUnit } from '../../bench/ops/observe.js';
import { failureKinds } from '../../bench/ops/report.js';
import { prf, score } from '../../bench/ops/score.js';

// A small labelled conversation: a fact, its duplicate, a contradiction, a refinement, a
// retraction, a silent turn, and a redaction that must restore the contradicted fact.
const labels: OpsFixture = buildFixture([
  {
    name: 'una.json',
    data: {
      tenantId: 'ops',
      userId: 'una',
      speaker: 'Una',
      sessions: [
        {
          id: 's1',
          start: '2024-03-04T09:00:00Z',
          turns: [
            { id: 'm1', text: 'I live in Oslo.', facts: [{ id: 'oslo', subject: 'Una', predicate: 'lives_in', object: 'Oslo', kind: 'fact' }] },
            { id: 'm2', text: 'ok' },
            { id: 'm3', text: 'I love jazz.', facts: [{ id: 'jazz', subject: 'Una', predicate: 'likes', object: 'jazz', kind: 'preference' }] },
            {
              id: 'm4',
              text: 'I moved to Bergen last Tuesday.',
              facts: [{ id: 'bergen', subject: 'Una', predicate: 'lives_in', object: 'Bergen', kind: 'fact', date: '2024-02-27', invalidates: ['oslo'] }],
            },
            {
              id: 'm5',
              text: 'I live in Bergen.',
              facts: [{ id: 'bergen2', subject: 'Una', predicate: 'lives_in', object: 'Bergen', kind: 'fact', op: 'NOOP', target: 'bergen' }],
            },
            {
              id: 'm6',
              text: 'I love cool jazz.',
              facts: [{ id: 'cooljazz', subject: 'Una', predicate: 'likes', object: 'cool jazz', kind: 'preference', op: 'UPDATE', target: 'jazz' }],
            },
            {
              id: 'm7',
              text: "I don't like cool jazz anymore.",
              facts: [{ id: 'nojazz', subject: 'Una', predicate: 'likes', object: 'cool jazz', kind: 'preference', op: 'DELETE', target: 'cooljazz' }],
            },
          ],
        },
        { id: 's2', start: '2024-03-05T09:00:00Z', turns: [{ redact: 'm4', restores: ['oslo'] }] },
      ],
    },
  },
]);

const T = Date.parse('2024-03-04T09:00:00Z');
const TUESDAY = Date.parse('2024-02-27T12:00:00Z');

function unit(messageId: string, op: ProducedUnit['op'], memoryId: string, triple: Triple | null, over: Partial<ProducedUnit> = {}): ProducedUnit {
  const kind = triple?.predicate === 'likes' ? 'preference' : 'fact';
  const text = triple ? `${triple.subject} ${triple.predicate} ${triple.object}` : '';
  const validFrom = op === 'ADD' || op === 'UPDATE' ? T : null;
  return { messageId, op, memoryId, kind, triple, text, validFrom, reason: 'r', ...over };
}
const tri = (subject: string, predicate: string, object: string): Triple => ({ subject, predicate, object });

/** What a perfect pipeline would produce for `labels`. */
function perfect(): Observed {
  return {
    units: [
      unit('m1', 'ADD', 'M-oslo', tri('Una', 'lives_in', 'Oslo')),
      unit('m3', 'ADD', 'M-jazz', tri('Una', 'likes', 'jazz')),
      unit('m4', 'ADD', 'M-bergen', tri('Una', 'lives_in', 'Bergen'), { validFrom: TUESDAY }),
      unit('m5', 'NOOP', 'M-bergen', tri('Una', 'lives_in', 'Bergen')),
      unit('m6', 'UPDATE', 'M-jazz', tri('Una', 'likes', 'cool jazz')),
      unit('m7', 'DELETE', 'M-jazz', tri('Una', 'likes', 'cool jazz')),
    ],
    invalidations: [{ memoryId: 'M-oslo', by: 'M-bergen', causationId: postedEventId('m4'), reason: 'moved' }],
    restorations: [{ memoryId: 'M-oslo', causationId: redactionEventId('m4'), reason: 'redacted' }],
    retired: 1,
    textOf: {},
    modelCalls: { byOutcome: {}, promptTokens: 0, completionTokens: 0 },
  };
}

test('a perfect run scores 1.0 everywhere', (t) => {
  const { score: s } = score(labels, perfect());
  t.is(s.counts.expectedFacts, 6);
  for (const p of [s.extraction.strict, s.extraction.lenient, s.conflicts, s.restorations]) {
    t.is(p.precision, 1);
    t.is(p.recall, 1);
    t.is(p.f1, 1);
  }
  t.is(s.decisions.accuracy, 1);
  for (const op of ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const) t.is(s.decisions.perOp[op].accuracy, 1, op);
  t.deepEqual(s.decisions.targets, { checked: 3, correct: 3, unverifiable: 0 });
  t.is(s.dates.accuracy, 1);
  t.is(s.extraction.kindAgreement, 1);
  t.deepEqual(s.extraction.silentTurns, { turns: 1, withFacts: 0 });
  t.is(s.decisions.confusion.spurious.ADD, 0);
});

test('a missed fact lowers recall, not precision, and shows as missed', (t) => {
  const o = perfect();
  const { score: s, details } = score(labels, { ...o, units: o.units.filter((u) => u.messageId !== 'm3') });
  t.is(s.extraction.lenient.precision, 1);
  t.is(s.extraction.lenient.recall, 5 / 6);
  t.is(s.decisions.confusion.ADD.missed, 1);
  t.is(s.decisions.perOp.ADD.accuracy, 2 / 3);
  // The UPDATE still has the right op, but its target (the missed fact) cannot be checked any more.
  t.deepEqual(s.decisions.targets, { checked: 2, correct: 2, unverifiable: 1 });
  t.is(details.facts.find((f) => f.fact.id === 'jazz')?.diagnosis, 'nothing extracted from the message');
});

test('a spurious fact lowers precision, not recall', (t) => {
  const o = perfect();
  const { score: s, details } = score(labels, { ...o, units: [...o.units, unit('m2', 'ADD', 'M-x', tri('Una', 'says', 'ok'))] });
  t.is(s.extraction.lenient.recall, 1);
  t.is(s.extraction.lenient.precision, 6 / 7);
  t.deepEqual(s.extraction.silentTurns, { turns: 1, withFacts: 1 });
  t.is(s.decisions.confusion.spurious.ADD, 1);
  t.is(details.spurious[0]?.turn, 'no-fact');
});

test('a wrong decision shows in the confusion matrix', (t) => {
  const o = perfect();
  const units = o.units.map((u) => (u.messageId === 'm5' ? unit('m5', 'UPDATE', 'M-bergen', tri('Una', 'lives_in', 'Bergen')) : u));
  const { score: s } = score(labels, { ...o, units });
  t.is(s.decisions.confusion.NOOP.UPDATE, 1);
  t.is(s.decisions.confusion.NOOP.NOOP, 0);
  t.is(s.decisions.perOp.NOOP.accuracy, 0);
  t.is(s.decisions.perOp.UPDATE.precision, 0.5);
  t.is(s.decisions.accuracy, 5 / 6);
  t.is(s.extraction.lenient.recall, 1, 'extraction is not affected');
});

test('a NOOP that reinforces the wrong memory has the right op but the wrong target', (t) => {
  const o = perfect();
  const units = o.units.map((u) => (u.messageId === 'm5' ? { ...u, memoryId: 'M-oslo' } : u));
  const { score: s } = score(labels, { ...o, units });
  t.is(s.decisions.perOp.NOOP.accuracy, 1);
  t.deepEqual(s.decisions.targets, { checked: 3, correct: 2, unverifiable: 0 });
});

test('a wrongly invalidated fact lowers conflict precision; a missing one lowers recall', (t) => {
  const o = perfect();
  const wrong = { memoryId: 'M-jazz', by: 'M-bergen', causationId: postedEventId('m4'), reason: 'bogus' };
  const { score: s, details } = score(labels, { ...o, invalidations: [...o.invalidations, wrong] });
  t.is(s.conflicts.precision, 0.5);
  t.is(s.conflicts.recall, 1);
  t.false(details.conflicts.produced[1]?.correct);
  const none = score(labels, { ...o, invalidations: [] }).score;
  t.is(none.conflicts.precision, null);
  t.is(none.conflicts.recall, 0);
});

test('restorations are matched with the redaction that caused them', (t) => {
  const o = perfect();
  const elsewhere = { ...o, restorations: [{ memoryId: 'M-oslo', causationId: 'e-other', reason: 'x' }] };
  const s = score(labels, elsewhere).score;
  t.is(s.restorations.precision, 0);
  t.is(s.restorations.recall, 0);
});

test('a wrong date is counted among dated facts', (t) => {
  const o = perfect();
  const units = o.units.map((u) => (u.messageId === 'm4' ? { ...u, validFrom: Date.parse('2024-03-05T00:00:00Z') } : u));
  const { score: s } = score(labels, { ...o, units });
  t.deepEqual({ checked: s.dates.checked, correct: s.dates.correct }, { checked: 1, correct: 0 });
  t.is(s.dates.accuracy, 0);
});

test('strict and lenient matching differ on surface forms', (t) => {
  const o = perfect();
  const units = o.units.map((u) => (u.messageId === 'm1' ? unit('m1', 'ADD', 'M-oslo', tri('Una', 'lives_in', 'Oslo, Norway')) : u));
  const { score: s } = score(labels, { ...o, units });
  t.is(s.extraction.strict.recall, 5 / 6);
  t.is(s.extraction.lenient.recall, 1);
  t.is(s.conflicts.recall, 1, 'downstream figures use the lenient matching');
});

test('the matching rules', (t) => {
  t.is(strictForm('The Louvre'), 'louvre');
  t.is(matchLevel({ subject: 'Una', predicate: 'lives_in', object: 'the Oslo' }, { triple: tri('una', 'lives_in', 'Oslo'), text: '' }), 'strict');
  t.is(matchLevel({ subject: 'Una', predicate: 'likes', object: 'hiking' }, { triple: tri('Una', 'enjoys', 'hiking in the Alps'), text: '' }), 'lenient');
  t.is(matchLevel({ subject: 'Una', predicate: 'likes', object: 'hiking' }, { triple: tri('Una', 'dislikes', 'hiking'), text: '' }), null);
  t.is(matchLevel({ subject: 'Una', predicate: 'likes', object: 'hiking' }, { triple: tri('Bo', 'likes', 'hiking'), text: '' }), null);
  t.is(matchLevel({ subject: 'Una', predicate: 'ran', object: 'Oslo marathon' }, { triple: null, text: 'Una ran the Oslo marathon in 2022.' }), 'lenient');
  t.is(matchLevel({ subject: 'Una', predicate: 'ran', object: 'Oslo marathon' }, { triple: null, text: 'She ran the Oslo marathon.' }), null);
  t.is(matchLevel({ subject: 'Una', predicate: 'has_boss', object: 'Kari' }, { triple: tri("Una's boss", 'name', 'Kari'), text: '' }), 'lenient');
  t.deepEqual(relationForm(tri("Una's best friend", 'name', 'Kari')), tri('Una', 'has_best_friend', 'Kari'));
  t.is(stem('running'), stem('run'));
  t.is(stem('leaving'), stem('leave'));
  t.is(stem('cats'), 'cat');
  t.is(stem('Paris'.toLowerCase()), 'paris');
});

test('assignment is one-to-one and prefers strict pairs', (t) => {
  const e = [
    { subject: 'Una', predicate: 'likes', object: 'jazz' },
    { subject: 'Una', predicate: 'likes', object: 'cool jazz' },
  ];
  const p = [
    { triple: tri('Una', 'likes', 'cool jazz'), text: '' },
    { triple: tri('Una', 'likes', 'jazz'), text: '' },
  ];
  const r = assign(e, p);
  t.is(r.pairs.length, 2);
  t.true(r.pairs.every((x) => x.level === 'strict'));
  t.is(assign(e, [p[0] as (typeof p)[number]]).missed.length, 1);
});

test('prf leaves undefined ratios null', (t) => {
  t.deepEqual(prf(0, 0, 0, 0), { correct: 0, produced: 0, found: 0, expected: 0, precision: null, recall: null, f1: null });
  t.is(prf(0, 2, 0, 2).f1, 0);
});

// ---------------------------------------------------------------- observe()

function memory(id: string, triple: Triple | null, over: Partial<Memory> = {}): Memory {
  return {
    id,
    tenantId: 'ops',
    userId: 'una',
    kind: triple?.predicate === 'likes' ? 'preference' : 'fact',
    granularity: 'fact',
    text: triple ? `${triple.subject} ${triple.predicate} ${triple.object}.` : 'text',
    triple,
    entities: [],
    keywords: [],
    embedding: [],
    embeddingModel: 'm',
    importance: 0.5,
    strength: 1,
    validFrom: T,
    validTo: null,
    recordedAt: T,
    supersededAt: null,
    version: 1,
    sources: [],
    provenance: { runId: 'r', model: 'm', promptHash: 'h' },
    ...over,
  };
}
const decision = { op: 'ADD' as const, reason: 'new', comparedWith: [] };
let seq = 0;
const ev = (causationId: string, payload: MemoryEventPayload): MemoryEvent => ({
  eventId: `me-${seq++}`,
  tenantId: 'ops',
  userId: 'una',
  recordedAt: T,
  causationId,
  payload,
});

test('observe reads units, conflicts and restorations from memory events', (t) => {
  const events: MemoryEvent[] = [
    ev(postedEventId('m1'), { type: 'MemoryAdded', memory: memory('M-ep', null, { kind: 'episode', granularity: 'turn' }), decision }),
    ev(postedEventId('m1'), { type: 'MemoryAdded', memory: memory('M-oslo', tri('Una', 'lives_in', 'Oslo')), decision }),
    ev(postedEventId('m3'), { type: 'MemoryAdded', memory: memory('M-jazz', tri('Una', 'likes', 'jazz')), decision }),
    ev(postedEventId('m4'), { type: 'MemoryAdded', memory: memory('M-bergen', tri('Una', 'lives_in', 'Bergen'), { validFrom: TUESDAY }), decision }),
    ev(postedEventId('m4'), {
      type: 'MemoryInvalidated', memoryId: 'M-oslo', version: 2, validTo: TUESDAY, supersededAt: T, invalidatedBy: 'M-bergen', reason: 'moved',
      decision: { op: 'DELETE', reason: 'moved', comparedWith: ['M-bergen'] },
    }),
    ev(postedEventId('m5'), { type: 'MemoryReinforced', memoryId: 'M-bergen', strength: 1, reason: 'same', decision: { op: 'NOOP', reason: 'same', comparedWith: [] } }),
    ev(postedEventId('m5'), { type: 'MemoryReinforced', memoryId: 'M-ep', strength: 1, reason: 'same turn', decision: { op: 'NOOP', reason: 'same', comparedWith: [] } }),
    ev(postedEventId('m6'), {
      type: 'MemoryUpdated', memory: memory('M-jazz', tri('Una', 'likes', 'cool jazz'), { version: 2 }), previousVersion: 1,
      decision: { op: 'UPDATE', reason: 'refines', comparedWith: ['M-jazz'] },
    }),
    ev(postedEventId('m7'), {
      type: 'MemoryInvalidated', memoryId: 'M-jazz', version: 3, validTo: T, supersededAt: T, invalidatedBy: null, reason: 'retracted',
      decision: { op: 'DELETE', reason: 'retracted', comparedWith: ['M-jazz'] },
    }),
    ev(redactionEventId('m4'), {
      type: 'MemoryInvalidated', memoryId: 'M-bergen', version: 2, validTo: T, supersededAt: T, invalidatedBy: null, reason: 'redacted',
      decision: { op: 'DELETE', reason: 'redacted', comparedWith: [] },
    }),
    ev(redactionEventId('m4'), { type: 'MemoryRestored', memoryId: 'M-oslo', version: 3, reason: 'restored' }),
    ev('session:s1', { type: 'MemoryAdded', memory: memory('M-sum', null, { kind: 'summary', granularity: 'session' }), decision }),
    ev(postedEventId('m1'), {
      type: 'ModelCalled', purpose: 'extraction', model: 'm', promptHash: 'h', promptTokens: 100, completionTokens: 20, outcome: 'fallback',
    }),
  ];
  const o = observe(events, labels);
  t.deepEqual(
    o.units.map((u) => [u.messageId, u.op, u.memoryId, u.triple?.object ?? null]),
    [
      ['m1', 'ADD', 'M-oslo', 'Oslo'],
      ['m3', 'ADD', 'M-jazz', 'jazz'],
      ['m4', 'ADD', 'M-bergen', 'Bergen'],
      ['m5', 'NOOP', 'M-bergen', 'Bergen'],
      ['m6', 'UPDATE', 'M-jazz', 'cool jazz'],
      ['m7', 'DELETE', 'M-jazz', 'cool jazz'],
    ],
  );
  t.deepEqual(o.invalidations.map((i) => [i.memoryId, i.by]), [['M-oslo', 'M-bergen']]);
  t.deepEqual(o.restorations.map((r) => [r.memoryId, r.causationId]), [['M-oslo', redactionEventId('m4')]]);
  t.is(o.retired, 1);
  t.deepEqual(o.modelCalls, { byOutcome: { fallback: 1 }, promptTokens: 100, completionTokens: 20 });
  const { score: s } = score(labels, o);
  t.is(s.extraction.strict.f1, 1);
  t.is(s.decisions.accuracy, 1);
  t.is(s.conflicts.f1, 1);
  t.is(s.restorations.f1, 1);
  t.is(s.dates.accuracy, 1);
});

test('failure kinds group problems with examples naming the message', (t) => {
  const o = perfect();
  const units = o.units.filter((u) => u.messageId !== 'm3').map((u) => (u.messageId === 'm5' ? { ...u, op: 'ADD' as const } : u));
  const observed = { ...o, units };
  const kinds = failureKinds(labels, observed, score(labels, observed).details);
  const names = kinds.map((k) => k.kind);
  t.true(names.includes('missed fact: nothing extracted from the message'));
  t.true(names.includes('wrong decision: expected NOOP, got ADD'));
  const missed = kinds.find((k) => k.kind.startsWith('missed fact'));
  t.regex(missed?.examples[0] ?? '', /"I love jazz\." → expected \(Una \| likes \| jazz\)/);
});
