import test from 'ava';
import { DEFAULT_FORGETTING, initialStrength, reinforcedStrength } from '../../activities/forget/retention.js';
import { ValidationError } from '../../core/errors.js';
import type { Memory, MemoryKind } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { candidateFixture, stateFixture, tri } from '../helpers/fixtures.js';
import { consolidate, type Neighbour } from '../../activities/consolidate/consolidate.js';
import { factKeyOf } from '../../activities/consolidate/claims.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);


function cand(id: string, text: string, over: Partial<AssociatedCandidate> = {}): AssociatedCandidate {
  return candidateFixture(id, text, { validFrom: T0 + 10 * DAY, ...over });
}

function mem(
  id: string,
  text: string,
  over: Partial<Memory> & { status?: MemoryState['status']; version?: number } = {},
): MemoryState {
  return stateFixture(id, text, T0, over);
}

const near = (state: MemoryState, similarity: number): Neighbour => ({ state, similarity });

function only(changes: PlannedChange[]): PlannedChange {
  if (changes.length !== 1) throw new Error(`expected one change, got ${changes.length}`);
  return changes[0] as PlannedChange;
}

// ---------------------------------------------------------------- exact duplicates

test('exact duplicate of the same kind is a NOOP that reinforces the existing memory', (t) => {
  const old = mem('m1', 'Caroline likes hiking', { strength: 0.55 });
  const c = cand('c1', 'Caroline likes hiking!');
  const ch = only(consolidate([c], { neighbours: {}, exactMatches: { c1: [old] } }));
  t.is(ch.op, 'NOOP');
  if (ch.op !== 'NOOP') return;
  t.is(ch.targetId, 'm1');
  t.is(ch.strength, 0.825); // x1.5
  t.is(ch.causationId, 'ev-c1');
  t.deepEqual(ch.comparedWith, ['m1']);
  t.regex(ch.reason, /exact duplicate of m1/);
});

test('reinforcement multiplies the strength by the forgetting factor, capped', (t) => {
  const old = mem('m1', 'Caroline likes hiking', { strength: 40 });
  const c = cand('c1', 'Caroline likes hiking');
  const forgetting = { ...DEFAULT_FORGETTING, reinforce: 2 };
  const ch = only(consolidate([c], { neighbours: {}, exactMatches: { c1: [old] } }, { forgetting }));
  t.is(ch.op === 'NOOP' && ch.strength, 80);
  const capped = only(consolidate([c], { neighbours: {}, exactMatches: { c1: [old] } }, { forgetting: { ...forgetting, maxStrengthDays: 50 } }));
  t.is(capped.op === 'NOOP' && capped.strength, 50);
});

test('same text of a different kind is not a duplicate', (t) => {
  const old = mem('m1', 'Caroline likes hiking', { kind: 'episode', granularity: 'turn' });
  const c = cand('c1', 'Caroline likes hiking', { kind: 'preference' });
  t.is(only(consolidate([c], { neighbours: {}, exactMatches: { c1: [old] } })).op, 'ADD');
});

test('memories that are not active are never matched', (t) => {
  const old = mem('m1', 'Caroline likes hiking', { status: 'invalidated' });
  const c = cand('c1', 'Caroline likes hiking');
  const ch = only(consolidate([c], { neighbours: { c1: [near(old, 1)] }, exactMatches: { c1: [old] } }));
  t.is(ch.op, 'ADD');
});

test('a candidate never matches its own id (a replay re-ADDs idempotently)', (t) => {
  const self = mem('c1', 'Caroline likes hiking');
  const c = cand('c1', 'Caroline likes hiking');
  t.is(only(consolidate([c], { neighbours: { c1: [near(self, 1)] }, exactMatches: { c1: [self] } })).op, 'ADD');
});

// ---------------------------------------------------------------- near duplicates

test('near duplicate at or above the threshold is a NOOP; below it an ADD', (t) => {
  const old = mem('m1', 'We went to the beach last weekend', { kind: 'event' });
  const c = cand('c1', 'Last weekend we went to the beach', { kind: 'event' });
  const dup = only(consolidate([c], { neighbours: { c1: [near(old, 0.95)] }, exactMatches: {} }));
  t.is(dup.op, 'NOOP');
  t.regex(dup.op === 'NOOP' ? dup.reason : '', /near duplicate of m1 \(cosine 0\.950/);
  t.is(dup.op === 'NOOP' && dup.strength, reinforcedStrength(old.memory.strength));

  const below = only(consolidate([c], { neighbours: { c1: [near(old, 0.9)] }, exactMatches: {} }));
  t.is(below.op, 'ADD');
  t.deepEqual(below.op === 'ADD' ? below.comparedWith : null, ['m1']);
  t.regex(below.op === 'ADD' ? below.reason : '', /closest memory m1 at cosine 0\.900/);

  const custom = only(consolidate([c], { neighbours: { c1: [near(old, 0.9)] }, exactMatches: {} }, { duplicateThreshold: 0.85 }));
  t.is(custom.op, 'NOOP');
});

test('near duplicate needs the same kind and granularity', (t) => {
  const c = cand('c1', 'We went to the beach', { kind: 'event' });
  const otherKind = mem('m1', 'We went to the beach', { kind: 'fact' });
  const otherGran = mem('m2', 'We went to the beach', { kind: 'event', granularity: 'session' });
  const ch = only(consolidate([c], { neighbours: { c1: [near(otherKind, 0.97), near(otherGran, 0.96)] }, exactMatches: {} }));
  t.is(ch.op, 'ADD');
});

test('near-duplicate facts with different triples are both kept', (t) => {
  const old = mem('m1', 'Caroline likes tea', { kind: 'preference', triple: tri('Caroline', 'likes', 'tea') });
  const c = cand('c1', 'Caroline likes coffee', { kind: 'preference', triple: tri('Caroline', 'likes', 'coffee') });
  t.is(only(consolidate([c], { neighbours: { c1: [near(old, 0.96)] }, exactMatches: {} })).op, 'ADD');
});

// ---------------------------------------------------------------- refinement

test('a more specific value of a functional fact is an UPDATE of the old memory', (t) => {
  const old = mem('m1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris'), version: 3 });
  const c = cand('c1', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const ch = only(consolidate([c], { neighbours: { c1: [near(old, 0.8)] }, exactMatches: {} }));
  t.is(ch.op, 'UPDATE');
  if (ch.op !== 'UPDATE') return;
  t.is(ch.targetId, 'm1');
  t.is(ch.previousVersion, 3);
  t.is(ch.candidate, c);
  t.deepEqual(ch.comparedWith, ['m1']);
  t.regex(ch.reason, /refines m1/);
});

test('more detail about the same claim (token superset) is an UPDATE, even above the duplicate threshold', (t) => {
  const old = mem('m1', 'Caroline works at Google', { triple: tri('Caroline', 'works_at', 'Google') });
  const c = cand('c1', 'Caroline works at Google as a senior engineer', { triple: tri('Caroline', 'works_at', 'Google') });
  const ch = only(consolidate([c], { neighbours: { c1: [near(old, 0.95)] }, exactMatches: {} }));
  t.is(ch.op, 'UPDATE');
  t.regex(ch.op === 'UPDATE' ? ch.reason : '', /adds detail/);
});

test('a multi-valued fact is refined only when the object is the same or contains the old one', (t) => {
  const old = mem('m1', 'Caroline likes pizza', { kind: 'preference', triple: tri('Caroline', 'likes', 'pizza') });
  const refined = cand('c1', 'Caroline likes pepperoni pizza', { kind: 'preference', triple: tri('Caroline', 'likes', 'pepperoni pizza') });
  t.is(only(consolidate([refined], { neighbours: { c1: [near(old, 0.9)] }, exactMatches: {} })).op, 'UPDATE');

  const other = cand('c2', 'Caroline likes long walks on the beach', {
    kind: 'preference',
    triple: tri('Caroline', 'likes', 'long walks on the beach'),
  });
  t.is(only(consolidate([other], { neighbours: { c2: [near(old, 0.7)] }, exactMatches: {} })).op, 'ADD');
});

test('a functional fact with a different value is an ADD (conflict resolution closes the old one)', (t) => {
  const old = mem('m1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const c = cand('c1', 'Caroline lives in Berlin now with her sister', { triple: tri('Caroline', 'lives_in', 'Berlin') });
  t.is(only(consolidate([c], { neighbours: { c1: [near(old, 0.85)] }, exactMatches: {} })).op, 'ADD');
});

test('the same claim without more detail is a NOOP; a vaguer functional value too', (t) => {
  const old = mem('m1', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const same = cand('c1', 'Caroline is living in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const ch = only(consolidate([same], { neighbours: { c1: [near(old, 0.7)] }, exactMatches: {} }));
  t.is(ch.op, 'NOOP');
  t.regex(ch.op === 'NOOP' ? ch.reason : '', /same claim as m1/);

  const vaguer = cand('c2', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const v = only(consolidate([vaguer], { neighbours: { c2: [near(old, 0.7)] }, exactMatches: {} }));
  t.is(v.op, 'NOOP');
  t.regex(v.op === 'NOOP' ? v.reason : '', /more specifically by m1/);
});

test('refinement finds facts through the optional activeFacts context', (t) => {
  const old = mem('m1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const c = cand('c1', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const ctx = { neighbours: {}, exactMatches: {}, activeFacts: { [factKeyOf('Caroline', 'lives_in')]: [old] } };
  const ch = only(consolidate([c], ctx));
  t.is(ch.op, 'UPDATE');
  t.is(ch.op === 'UPDATE' && ch.targetId, 'm1');
});

// ---------------------------------------------------------------- retraction

test('a retraction of a multi-valued fact DELETEs only the memory with that object', (t) => {
  const jazz = mem('m1', 'Caroline likes jazz', { kind: 'preference', triple: tri('Caroline', 'likes', 'jazz'), version: 2 });
  const tea = mem('m2', 'Caroline likes tea', { kind: 'preference', triple: tri('Caroline', 'likes', 'tea') });
  const c = cand('c1', 'Caroline no longer likes jazz', {
    kind: 'preference',
    triple: tri('Caroline', 'likes', 'jazz'),
    retraction: true,
    validFrom: T0 + 40 * DAY,
  });
  const ch = only(consolidate([c], { neighbours: { c1: [near(jazz, 0.8), near(tea, 0.6)] }, exactMatches: {} }));
  t.is(ch.op, 'DELETE');
  if (ch.op !== 'DELETE') return;
  t.is(ch.targetId, 'm1');
  t.is(ch.previousVersion, 2);
  t.is(ch.validTo, T0 + 40 * DAY);
  t.is(ch.causationId, 'ev-c1');
  t.deepEqual(ch.comparedWith, ['m1', 'm2']);
  t.regex(ch.reason, /retracted/);
});

test('a retraction of a functional fact DELETEs every active memory of it', (t) => {
  const a = mem('m1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const b = mem('m2', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const c = cand('c1', 'I no longer live in Paris', { triple: tri('Caroline', 'lives_in', 'Paris'), retraction: true });
  const out = consolidate([c], { neighbours: {}, exactMatches: {}, activeFacts: { 'caroline|lives_in': [a, b] } });
  t.deepEqual(
    out.map((ch) => [ch.op, ch.op === 'DELETE' ? ch.targetId : '', ch.op === 'DELETE' ? ch.validTo : 0]),
    [
      ['DELETE', 'm1', c.validFrom],
      ['DELETE', 'm2', c.validFrom],
    ],
  );
});

test('a retraction that matches nothing emits no change (never a NOOP without a target)', (t) => {
  const other = mem('m1', 'Caroline likes tea', { kind: 'preference', triple: tri('Caroline', 'likes', 'tea') });
  const c = cand('c1', 'Caroline no longer likes jazz', { kind: 'preference', triple: tri('Caroline', 'likes', 'jazz'), retraction: true });
  t.deepEqual(consolidate([c], { neighbours: { c1: [near(other, 0.9)] }, exactMatches: {} }), []);
  const noTriple = cand('c2', 'forget what I said', { retraction: true });
  t.deepEqual(consolidate([noTriple], { neighbours: { c2: [near(other, 0.99)] }, exactMatches: {} }), []);
});

test('a retraction of a fact added earlier in the batch DELETEs it at version 1, and later repeats are new again', (t) => {
  const add = cand('c1', 'Caroline likes jazz', { kind: 'preference', triple: tri('Caroline', 'likes', 'jazz'), embedding: [1, 0, 0] });
  const del = cand('c2', 'Caroline does not like jazz anymore', {
    kind: 'preference',
    triple: tri('Caroline', 'likes', 'jazz'),
    retraction: true,
    embedding: [0.9, 0.1, 0],
  });
  const again = cand('c3', 'Caroline likes jazz', { kind: 'preference', triple: tri('Caroline', 'likes', 'jazz') });
  const out = consolidate([add, del, again], { neighbours: {}, exactMatches: {} });
  t.deepEqual(
    out.map((ch) => ch.op),
    ['ADD', 'DELETE', 'ADD'],
  );
  const d = out[1];
  t.is(d?.op === 'DELETE' && d.targetId, 'c1');
  t.is(d?.op === 'DELETE' && d.previousVersion, 1);
});

// ---------------------------------------------------------------- episodes

test('episodes are ADD even next to a near-identical turn, NOOP only for an exact repeat', (t) => {
  const turn = (id: string, text: string, over: Partial<AssociatedCandidate> = {}): AssociatedCandidate =>
    cand(id, text, { kind: 'episode', granularity: 'turn', ...over });
  const old = mem('m1', 'Caroline: I went to the LGBTQ support group yesterday', { kind: 'episode', granularity: 'turn' });
  const c = turn('c1', 'Caroline: I went to the LGBTQ support group today');
  t.is(only(consolidate([c], { neighbours: { c1: [near(old, 0.99)] }, exactMatches: {} })).op, 'ADD');

  const repeat = turn('c2', 'Caroline: I went to the LGBTQ support group yesterday');
  const ch = only(consolidate([repeat], { neighbours: {}, exactMatches: { c2: [old] } }));
  t.is(ch.op, 'NOOP');
  t.is(ch.op === 'NOOP' && ch.targetId, 'm1');

  // An episode flagged as a retraction is still just an episode.
  const retr = turn('c3', 'Caroline: forget that I like jazz', { retraction: true, triple: tri('Caroline', 'likes', 'jazz') });
  const jazz = mem('m2', 'Caroline likes jazz', { kind: 'preference', triple: tri('Caroline', 'likes', 'jazz') });
  t.is(only(consolidate([retr], { neighbours: { c3: [near(jazz, 0.8)] }, exactMatches: {} })).op, 'ADD');
});

// ---------------------------------------------------------------- intra-batch

test('intra-batch exact and near duplicates are NOOPs against the earlier candidate', (t) => {
  const a = cand('c1', 'Caroline adopted a dog named Max', { kind: 'event', embedding: [1, 0, 0] });
  const b = cand('c2', 'Caroline adopted a dog named Max.', { kind: 'event', embedding: [0, 1, 0] });
  const c = cand('c3', 'Caroline has adopted a dog called Max', { kind: 'event', embedding: [0.99, 0.05, 0] });
  const d = cand('c4', 'Caroline started painting', { kind: 'event', embedding: [0, 0, 1] });
  const out = consolidate([a, b, c, d], { neighbours: {}, exactMatches: {} });
  t.deepEqual(
    out.map((ch) => [ch.op, ch.op === 'NOOP' ? ch.targetId : ch.op === 'ADD' ? ch.candidate.id : '']),
    [
      ['ADD', 'c1'],
      ['NOOP', 'c1'],
      ['NOOP', 'c1'],
      ['ADD', 'c4'],
    ],
  );
  const second = out[1];
  // A new memory starts at the strength its importance gives; the NOOP reinforces that.
  t.is(second?.op === 'NOOP' && second.strength, reinforcedStrength(initialStrength(a.importance)));
});

test('intra-batch refinement UPDATEs the earlier candidate, and repeated reinforcement accumulates', (t) => {
  const a = cand('c1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const b = cand('c2', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  const out = consolidate([a, b], { neighbours: {}, exactMatches: {} });
  t.is(out[1]?.op, 'UPDATE');
  t.is(out[1]?.op === 'UPDATE' && out[1].targetId, 'c1');
  t.is(out[1]?.op === 'UPDATE' && out[1].previousVersion, 1);

  const old = mem('m1', 'Caroline likes hiking', { strength: 0.5 });
  const r1 = cand('c3', 'Caroline likes hiking');
  const r2 = cand('c4', 'caroline likes HIKING');
  const reinf = consolidate([r1, r2], { neighbours: {}, exactMatches: { c3: [old], c4: [old] } });
  t.deepEqual(
    reinf.map((ch) => (ch.op === 'NOOP' ? ch.strength : -1)),
    [0.75, 1.125],
  );
});

test('a later candidate compares with the refined content, not the stale stored text', (t) => {
  const old = mem('m1', 'Caroline works at Google', { triple: tri('Caroline', 'works_at', 'Google'), version: 2 });
  const up = cand('c1', 'Caroline works at Google DeepMind', { triple: tri('Caroline', 'works_at', 'Google DeepMind') });
  const up2 = cand('c2', 'Caroline works at Google DeepMind in London', { triple: tri('Caroline', 'works_at', 'Google DeepMind') });
  const out = consolidate([up, up2], { neighbours: { c1: [near(old, 0.9)], c2: [near(old, 0.85)] }, exactMatches: {} });
  t.deepEqual(
    out.map((ch) => [ch.op, ch.op === 'UPDATE' ? ch.targetId : '', ch.op === 'UPDATE' ? ch.previousVersion : 0]),
    [
      ['UPDATE', 'm1', 2],
      ['UPDATE', 'm1', 3],
    ],
  );
});

// ---------------------------------------------------------------- determinism and options

test('consolidation is deterministic and does not mutate its inputs', (t) => {
  const old = mem('m1', 'Caroline lives in Paris', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const batch = [
    cand('c1', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') }),
    cand('c2', 'Caroline likes tea', { kind: 'preference', triple: tri('Caroline', 'likes', 'tea') }),
    cand('c3', 'Caroline likes tea', { kind: 'preference', triple: tri('Caroline', 'likes', 'tea') }),
  ];
  const ctx = { neighbours: { c1: [near(old, 0.8)] }, exactMatches: {} };
  const snapshot = JSON.stringify({ batch, ctx });
  const first = consolidate(batch, ctx);
  t.deepEqual(consolidate(batch, ctx), first);
  t.is(JSON.stringify({ batch, ctx }), snapshot);
});

test('invalid options are a ValidationError', (t) => {
  t.throws(() => consolidate([], { neighbours: {}, exactMatches: {} }, { duplicateThreshold: 1.5 }), { instanceOf: ValidationError });
  t.throws(() => consolidate([], { neighbours: {}, exactMatches: {} }, { forgetting: { ...DEFAULT_FORGETTING, reinforce: 0.5 } }), { instanceOf: ValidationError });
});

test('kinds are taken into account for refinements', (t) => {
  const kind: MemoryKind = 'event';
  const old = mem('m1', 'Caroline lives in Paris', { kind, triple: tri('Caroline', 'lives_in', 'Paris') });
  const c = cand('c1', 'Caroline lives in Paris, France', { triple: tri('Caroline', 'lives_in', 'Paris, France') });
  t.is(only(consolidate([c], { neighbours: { c1: [near(old, 0.8)] }, exactMatches: {} })).op, 'ADD');
});

// ---------------------------------------------------------------- restatements, titles, plural retractions

test('a restatement with only hedges added ("still", "really") is a NOOP, not more detail', (t) => {
  const old = mem('m1', 'Lena lives in Munich.', { triple: tri('Lena', 'lives_in', 'Munich') });
  const c = cand('c1', 'Lena still lives in Munich.', { triple: tri('Lena', 'lives_in', 'Munich') });
  const ch = only(consolidate([c], { neighbours: { c1: [near(old, 0.9)] }, exactMatches: {} }));
  t.is(ch.op, 'NOOP');
  t.regex(ch.op === 'NOOP' ? ch.reason : '', /same claim as m1/);

  const jazz = mem('m2', 'Maya loves jazz.', { kind: 'preference', triple: tri('Maya', 'likes', 'jazz') });
  const really = cand('c2', 'Maya really loves jazz.', { kind: 'preference', triple: tri('Maya', 'likes', 'jazz') });
  t.is(only(consolidate([really], { neighbours: { c2: [near(jazz, 0.95)] }, exactMatches: {} })).op, 'NOOP');
});

test('a longer title is another value of a favourite, not a refinement; places still refine by containment', (t) => {
  const dune = mem('m1', "Ravi's favourite book is Dune.", { kind: 'preference', triple: tri('Ravi', 'favourite_book', 'Dune') });
  const messiah = cand('c1', "Ravi's favourite book is Dune Messiah.", { kind: 'preference', triple: tri('Ravi', 'favourite_book', 'Dune Messiah') });
  t.is(only(consolidate([messiah], { neighbours: { c1: [near(dune, 0.9)] }, exactMatches: {} })).op, 'ADD');

  const london = mem('m2', 'Ravi lives in London.', { triple: tri('Ravi', 'lives_in', 'London') });
  const north = cand('c2', 'Ravi lives in North London.', { triple: tri('Ravi', 'lives_in', 'North London') });
  t.is(only(consolidate([north], { neighbours: { c2: [near(london, 0.9)] }, exactMatches: {} })).op, 'UPDATE');
});

test('a plural retraction ("the cats") DELETEs every named animal of that species, and only those', (t) => {
  const miso = mem('m1', 'Sam has a cat named Miso.', { triple: tri('Sam', 'has_pet', 'cat named Miso') });
  const tofu = mem('m2', 'Sam has a cat named Tofu.', { triple: tri('Sam', 'has_pet', 'cat named Tofu') });
  const rex = mem('m3', 'Sam has a dog named Rex.', { triple: tri('Sam', 'has_pet', 'dog named Rex') });
  const c = cand('c1', 'Sam no longer has cats.', { triple: tri('Sam', 'has_pet', 'cats'), retraction: true });
  const out = consolidate([c], { neighbours: {}, exactMatches: {}, activeFacts: { 'sam|has_pet': [miso, tofu, rex] } });
  t.deepEqual(out.map((ch) => [ch.op, ch.op === 'DELETE' ? ch.targetId : '']), [['DELETE', 'm1'], ['DELETE', 'm2']]);
  // The reason names the retracting message by id, never by its words.
  t.true(out.every((ch) => ch.op === 'DELETE' && ch.reason.startsWith('retracted by message msg-c1')));
});
