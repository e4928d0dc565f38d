import test from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { SourceRef, Triple } from '../../core/model.js';
import type { AssociatedCandidate, LifecycleCommand, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { candidateFixture, memoryFixture, src, tri } from '../helpers/fixtures.js';
import { conflictKeysOf, oppositesOf, resolveConflicts } from '../../activities/conflicts/resolve.js';
import { planLifecycle, RESTORE_REASON, type LifecycleContext } from '../../activities/conflicts/lifecycle.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const at = (days: number): number => T0 + days * DAY;


function cand(id: string, triple: Triple | null, validFrom: number, over: Partial<AssociatedCandidate> = {}): AssociatedCandidate {
  const text = triple ? `${triple.subject} ${triple.predicate} ${triple.object}` : id;
  return candidateFixture(id, text, { triple, validFrom, embedding: [1, 0], ...over });
}

function mem(
  id: string,
  triple: Triple | null,
  validFrom: number,
  over: { status?: MemoryState['status']; version?: number; invalidatedBy?: string | null; sources?: SourceRef[]; strength?: number } = {},
): MemoryState {
  const version = over.version ?? 1;
  const memory = memoryFixture(id, triple ? `${triple.subject} ${triple.predicate} ${triple.object}` : id, {
    triple,
    strength: over.strength ?? 0.5,
    validFrom,
    recordedAt: validFrom,
    version,
    sources: over.sources ?? [src(`msg-${id}`)],
  });
  return {
    memory,
    status: over.status ?? 'active',
    version,
    quarantineReasons: [],
    decisionReason: '',
    invalidatedBy: over.invalidatedBy ?? null,
    clusters: [],
    links: [],
  };
}

const add = (candidate: AssociatedCandidate): PlannedChange => ({ op: 'ADD', candidate, reason: 'new', comparedWith: [] });

type Row = [string, string, ...unknown[]];
/** op, target (memory id) and, for invalidations, validTo and invalidatedBy. */
function rows(changes: readonly PlannedChange[]): Row[] {
  return changes.map((ch): Row => {
    switch (ch.op) {
      case 'ADD':
        return ['ADD', ch.candidate.id];
      case 'UPDATE':
        return ['UPDATE', ch.targetId];
      case 'INVALIDATE':
        return ['INVALIDATE', ch.targetId, ch.validTo, ch.invalidatedBy];
      case 'QUARANTINE':
        return ['QUARANTINE', ch.candidate.id];
      case 'LESSON':
        return ['LESSON', ch.lesson.id];
      case 'USAGE':
        return ['USAGE', ch.usage.model];
      case 'SHRED':
        return ['SHRED', ch.wholeKeyring ? '*' : ch.keyIds.join(',')];
      case 'HOLD':
        return ['HOLD', ch.memory.id];
      default:
        return [ch.op, ch.targetId];
    }
  });
}

// ---------------------------------------------------------------- functional predicates

test('a new value of a functional fact closes the old one at the new validFrom', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0), { version: 4 });
  const berlin = cand('c-berlin', tri('Caroline', 'lives_in', 'Berlin'), at(30));
  const out = resolveConflicts([add(berlin)], { activeFacts: { 'caroline|lives_in': [paris] } });
  t.deepEqual(rows(out), [
    ['ADD', 'c-berlin'],
    ['INVALIDATE', 'm-paris', at(30), 'c-berlin'],
  ]);
  const inv = out[1];
  if (inv?.op !== 'INVALIDATE') return t.fail();
  t.is(inv.previousVersion, 4);
  t.is(inv.causationId, 'ev-c-berlin');
  t.regex(inv.reason, /"Paris"/);
  t.regex(inv.reason, /replaced by a newer value/);
  t.notRegex(inv.reason, /Berlin/, 'the newer fact is named by id, never quoted');
});

test('the same or a refined value is not a contradiction (normalised compare)', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0));
  const same = cand('c1', tri('caroline', 'lives_in', 'paris!'), at(10));
  const finer = cand('c2', tri('Caroline', 'lives_in', 'Paris, France'), at(20));
  const out = resolveConflicts([add(same), add(finer)], { activeFacts: { 'caroline|lives_in': [paris] } });
  t.deepEqual(rows(out), [
    ['ADD', 'c1'],
    ['ADD', 'c2'],
  ]);
});

test('multi-valued predicates accumulate: no invalidation', (t) => {
  const tea = mem('m-tea', tri('Caroline', 'likes', 'tea'), at(0));
  const coffee = cand('c-coffee', tri('Caroline', 'likes', 'coffee'), at(5));
  const out = resolveConflicts([add(coffee)], { activeFacts: { 'caroline|likes': [tea] } });
  t.deepEqual(rows(out), [['ADD', 'c-coffee']]);
});

test('a different subject or an inactive fact is never invalidated', (t) => {
  const mel = mem('m-mel', tri('Melanie', 'lives_in', 'Paris'), at(0));
  const old = mem('m-old', tri('Caroline', 'lives_in', 'Rome'), at(0), { status: 'invalidated' });
  const c = cand('c1', tri('Caroline', 'lives_in', 'Berlin'), at(5));
  const out = resolveConflicts([add(c)], { activeFacts: { 'melanie|lives_in': [mel], 'caroline|lives_in': [old] } });
  t.deepEqual(rows(out), [['ADD', 'c1']]);
});

test('favourite_* predicates are functional', (t) => {
  const pizza = mem('m1', tri('Caroline', 'favourite_food', 'pizza'), at(0));
  const sushi = cand('c1', tri('Caroline', 'favourite_food', 'sushi'), at(3));
  const out = resolveConflicts([add(sushi)], { activeFacts: { 'caroline|favourite_food': [pizza] } });
  t.deepEqual(rows(out), [
    ['ADD', 'c1'],
    ['INVALIDATE', 'm1', at(3), 'c1'],
  ]);
});

test('a longer title is a new favourite (Dune → Dune Messiah); a longer place is not a conflict', (t) => {
  const dune = mem('m1', tri('Ravi', 'favourite_book', 'Dune'), at(0));
  const messiah = cand('c1', tri('Ravi', 'favourite_book', 'Dune Messiah'), at(3));
  t.deepEqual(rows(resolveConflicts([add(messiah)], { activeFacts: { 'ravi|favourite_book': [dune] } })), [
    ['ADD', 'c1'],
    ['INVALIDATE', 'm1', at(3), 'c1'],
  ]);
  const london = mem('m2', tri('Ravi', 'lives_in', 'London'), at(0));
  const north = cand('c2', tri('Ravi', 'lives_in', 'North London'), at(3));
  t.deepEqual(rows(resolveConflicts([add(north)], { activeFacts: { 'ravi|lives_in': [london] } })), [['ADD', 'c2']]);
});

test('has_boss is functional: a new boss closes the old one', (t) => {
  const daniel = mem('m1', tri('Sam', 'has_boss', 'Daniel Kim'), at(0));
  const rachel = cand('c1', tri('Sam', 'has_boss', 'Rachel Green'), at(9));
  t.deepEqual(rows(resolveConflicts([add(rachel)], { activeFacts: { 'sam|has_boss': [daniel] } })), [
    ['ADD', 'c1'],
    ['INVALIDATE', 'm1', at(9), 'c1'],
  ]);
});

// ---------------------------------------------------------------- opposite predicates

test('dislikes X contradicts likes X, not likes Y; prefers/dislikes is read both ways', (t) => {
  const likesCoffee = mem('m-lc', tri('Caroline', 'likes', 'coffee'), at(0));
  const likesTea = mem('m-lt', tri('Caroline', 'likes', 'tea'), at(0));
  const prefersJazz = mem('m-pj', tri('Caroline', 'prefers', 'jazz'), at(0));
  const activeFacts = { 'caroline|likes': [likesCoffee, likesTea], 'caroline|prefers': [prefersJazz] };
  const c1 = cand('c1', tri('Caroline', 'dislikes', 'coffee'), at(10));
  const c2 = cand('c2', tri('Caroline', 'dislikes', 'jazz'), at(11));
  const out = resolveConflicts([add(c1), add(c2)], { activeFacts });
  t.deepEqual(rows(out), [
    ['ADD', 'c1'],
    ['INVALIDATE', 'm-lc', at(10), 'c1'],
    ['ADD', 'c2'],
    ['INVALIDATE', 'm-pj', at(11), 'c2'],
  ]);
  t.deepEqual(oppositesOf('dislikes'), ['likes', 'prefers']);
  t.deepEqual(conflictKeysOf(tri('Caroline', 'dislikes', 'x')), ['caroline|likes', 'caroline|prefers']);
  t.deepEqual(conflictKeysOf(tri('Caroline', 'lives_in', 'x')), ['caroline|lives_in']);
  t.deepEqual(conflictKeysOf(tri('Caroline', 'visited', 'x')), []);
});

// ---------------------------------------------------------------- world time

test('an older (historical) fact does not invalidate a newer one: it is added already closed', (t) => {
  const berlin = mem('m-berlin', tri('Caroline', 'lives_in', 'Berlin'), at(100));
  const paris = cand('c-paris', tri('Caroline', 'lives_in', 'Paris'), at(10));
  const out = resolveConflicts([add(paris)], { activeFacts: { 'caroline|lives_in': [berlin] } });
  t.deepEqual(rows(out), [
    ['ADD', 'c-paris'],
    ['INVALIDATE', 'c-paris', at(100), 'm-berlin'],
  ]);
  const inv = out[1];
  t.is(inv?.op === 'INVALIDATE' && inv.previousVersion, 1);
  t.regex(inv?.op === 'INVALIDATE' ? inv.reason : '', /^historical:/);
});

test('a fact between an older and a newer one closes the older and is closed by the newer', (t) => {
  const rome = mem('m-rome', tri('Caroline', 'lives_in', 'Rome'), at(0));
  const berlin = mem('m-berlin', tri('Caroline', 'lives_in', 'Berlin'), at(100));
  const paris = cand('c-paris', tri('Caroline', 'lives_in', 'Paris'), at(50));
  const out = resolveConflicts([add(paris)], { activeFacts: { 'caroline|lives_in': [berlin, rome] } });
  t.deepEqual(rows(out), [
    ['ADD', 'c-paris'],
    ['INVALIDATE', 'm-rome', at(50), 'c-paris'],
    ['INVALIDATE', 'c-paris', at(100), 'm-berlin'],
  ]);
});

// ---------------------------------------------------------------- batches

test('intra-batch: the earlier of two new facts on one functional key is invalidated by the later', (t) => {
  const a = cand('c1', tri('Caroline', 'works_at', 'Google'), at(10));
  const b = cand('c2', tri('Caroline', 'works_at', 'Meta'), at(20));
  const out = resolveConflicts([add(a), add(b)], { activeFacts: {} });
  t.deepEqual(rows(out), [
    ['ADD', 'c1'],
    ['ADD', 'c2'],
    ['INVALIDATE', 'c1', at(20), 'c2'],
  ]);
  const inv = out[2];
  t.is(inv?.op === 'INVALIDATE' && inv.previousVersion, 1);

  // Out of order within the batch: the later-in-world-time fact wins.
  const swapped = resolveConflicts([add(b), add(a)], { activeFacts: {} });
  t.deepEqual(rows(swapped), [
    ['ADD', 'c2'],
    ['ADD', 'c1'],
    ['INVALIDATE', 'c1', at(20), 'c2'],
  ]);
});

test('an UPDATE never invalidates its own target and invalidates rivals in its name', (t) => {
  const google = mem('m-google', tri('Caroline', 'works_at', 'Google'), at(0), { version: 2 });
  const meta = mem('m-meta', tri('Caroline', 'works_at', 'Meta'), at(5));
  const c = cand('c1', tri('Caroline', 'works_at', 'Google DeepMind'), at(10));
  const update: PlannedChange = { op: 'UPDATE', candidate: c, targetId: 'm-google', previousVersion: 2, reason: 'refines', comparedWith: [] };
  const out = resolveConflicts([update], { activeFacts: { 'caroline|works_at': [google, meta] } });
  t.deepEqual(rows(out), [
    ['UPDATE', 'm-google'],
    ['INVALIDATE', 'm-meta', at(10), 'm-google'],
  ]);
});

test('facts retracted earlier in the batch are not invalidated again; other changes pass through', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0));
  const del: PlannedChange = {
    op: 'DELETE',
    targetId: 'm-paris',
    previousVersion: 1,
    validTo: at(5),
    reason: 'retracted',
    comparedWith: [],
    causationId: 'ev-x',
  };
  const noop: PlannedChange = { op: 'NOOP', targetId: 'm-x', strength: 1, reason: 'dup', comparedWith: [], causationId: 'ev-y' };
  const berlin = cand('c1', tri('Caroline', 'lives_in', 'Berlin'), at(10));
  const episode = cand('c2', tri('Caroline', 'lives_in', 'Oslo'), at(11), { kind: 'episode', granularity: 'turn' });
  const out = resolveConflicts([del, noop, add(berlin), add(episode)], { activeFacts: { 'caroline|lives_in': [paris] } });
  t.deepEqual(rows(out), [
    ['DELETE', 'm-paris'],
    ['NOOP', 'm-x'],
    ['ADD', 'c1'],
    ['ADD', 'c2'],
  ]);
  t.false(out.some((ch) => ch.op === 'FORGET'));
});

test('conflict resolution is deterministic and leaves its inputs alone', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0));
  const changes = [add(cand('c1', tri('Caroline', 'lives_in', 'Berlin'), at(10))), add(cand('c2', tri('Caroline', 'lives_in', 'Oslo'), at(20)))];
  const ctx = { activeFacts: { 'caroline|lives_in': [paris] } };
  const snap = JSON.stringify({ changes, ctx });
  const first = resolveConflicts(changes, ctx);
  t.deepEqual(resolveConflicts(changes, ctx), first);
  t.is(JSON.stringify({ changes, ctx }), snap);
  t.deepEqual(rows(first), [
    ['ADD', 'c1'],
    ['INVALIDATE', 'm-paris', at(10), 'c1'],
    ['ADD', 'c2'],
    ['INVALIDATE', 'c1', at(20), 'c2'],
  ]);
});

// ---------------------------------------------------------------- lifecycle

const ctxOf = (over: Partial<LifecycleContext>): LifecycleContext => ({
  bySourceMessage: {},
  invalidatedBy: {},
  memories: {},
  allMemories: null,
  ...over,
});

test('retiring a message invalidates its only-sourced memories and restores what they displaced', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0), { status: 'invalidated', invalidatedBy: 'm-berlin', version: 2 });
  const berlin = mem('m-berlin', tri('Caroline', 'lives_in', 'Berlin'), at(30), { sources: [src('msg-2')] });
  const shared = mem('m-shared', tri('Caroline', 'likes', 'tea'), at(30), { sources: [src('msg-2'), src('msg-3')] });
  const cmd: LifecycleCommand = { type: 'retireMessage', messageId: 'msg-2', reason: 'message redacted', causationId: 'ev-redact', at: at(40) };
  const out = planLifecycle([cmd], ctxOf({ bySourceMessage: { 'msg-2': [shared, berlin] }, invalidatedBy: { 'm-berlin': [paris] } }));
  t.deepEqual(rows(out), [
    ['INVALIDATE', 'm-berlin', at(40), null],
    ['RESTORE', 'm-paris'],
  ]);
  const restore = out[1];
  if (restore?.op !== 'RESTORE') return t.fail();
  t.is(restore.previousVersion, 2);
  t.is(restore.reason, RESTORE_REASON);
  t.is(restore.causationId, 'ev-redact');
  t.regex(out[0]?.op === 'INVALIDATE' ? out[0].reason : '', /message redacted/);
});

test('retiring does not restore facts closed again by something else, nor touch inactive memories', (t) => {
  const paris = mem('m-paris', tri('Caroline', 'lives_in', 'Paris'), at(0), { status: 'invalidated', invalidatedBy: 'm-feedback' });
  const berlin = mem('m-berlin', tri('Caroline', 'lives_in', 'Berlin'), at(30), { sources: [src('msg-2')] });
  const gone = mem('m-gone', null, at(30), { status: 'invalidated', sources: [src('msg-2')] });
  const cmd: LifecycleCommand = { type: 'retireMessage', messageId: 'msg-2', reason: 'edited', causationId: 'ev-e', at: at(40) };
  const out = planLifecycle([cmd], ctxOf({ bySourceMessage: { 'msg-2': [berlin, gone] }, invalidatedBy: { 'm-berlin': [paris], 'm-gone': [paris] } }));
  t.deepEqual(rows(out), [['INVALIDATE', 'm-berlin', at(40), null]]);
});

test('forget commands erase their targets once, chaining versions within the batch', (t) => {
  const a = mem('m-a', null, at(0), { version: 3, sources: [src('msg-1'), src('msg-9')] });
  const b = mem('m-b', null, at(0), { sources: [src('msg-1')] });
  const done = mem('m-done', null, at(0), { status: 'forgotten' });
  const c = mem('m-c', null, at(0), { status: 'invalidated' });
  const commands: LifecycleCommand[] = [
    { type: 'feedback', memoryId: 'm-a', rating: 'down', causationId: 'ev-0' },
    { type: 'forgetMemory', memoryId: 'm-a', reason: 'user asked', causationId: 'ev-1' },
    { type: 'forgetMemory', memoryId: 'm-done', reason: 'again', causationId: 'ev-2' },
    { type: 'forgetMessage', messageId: 'msg-1', reason: 'message erased', causationId: 'ev-3' },
    { type: 'forgetUser', reason: 'account deleted', causationId: 'ev-4' },
    { type: 'forgetMemory', memoryId: 'm-missing', reason: 'unknown', causationId: 'ev-5' },
  ];
  const out = planLifecycle(
    commands,
    ctxOf({ memories: { 'm-a': a, 'm-done': done }, bySourceMessage: { 'msg-1': [a, b] }, allMemories: [a, b, c, done] }),
  );
  t.deepEqual(
    out.map((ch) => [ch.op, 'targetId' in ch ? ch.targetId : '', 'previousVersion' in ch ? ch.previousVersion : -1, 'causationId' in ch ? ch.causationId : '']),
    [
      ['INVALIDATE', 'm-a', 3, 'ev-0'],
      ['FORGET', 'm-a', 4, 'ev-1'],
      ['FORGET', 'm-b', 1, 'ev-3'],
      ['SHRED', '', -1, 'ev-3'],
      ['FORGET', 'm-c', 1, 'ev-4'],
      ['SHRED', '', -1, 'ev-4'],
    ],
  );
  // A forgotten message's key and then the user's whole keyring are destroyed.
  t.deepEqual(
    out.flatMap((ch) => (ch.op === 'SHRED' ? [[ch.keyIds, ch.wholeKeyring]] : [])),
    [
      [['msg:msg-1'], false],
      [[], true],
    ],
  );
});

test('forgetUser without allMemories is a ValidationError', (t) => {
  t.throws(() => planLifecycle([{ type: 'forgetUser', reason: 'x', causationId: 'e' }], ctxOf({})), { instanceOf: ValidationError });
});

test('feedback: down invalidates (never valid), up reinforces (x1.5, capped); inactive or unknown memories are ignored', (t) => {
  const wrong = mem('m-wrong', tri('Caroline', 'age', '40'), at(5));
  const good = mem('m-good', null, at(0), { strength: 3000 });
  const mid = mem('m-mid', null, at(0), { strength: 10 });
  const old = mem('m-old', null, at(0), { status: 'invalidated' });
  const out = planLifecycle(
    [
      { type: 'feedback', memoryId: 'm-wrong', rating: 'down', causationId: 'ev-1' },
      { type: 'feedback', memoryId: 'm-good', rating: 'up', causationId: 'ev-2' },
      { type: 'feedback', memoryId: 'm-mid', rating: 'up', causationId: 'ev-3' },
      { type: 'feedback', memoryId: 'm-mid', rating: 'up', causationId: 'ev-4' },
      { type: 'feedback', memoryId: 'm-old', rating: 'up', causationId: 'ev-5' },
      { type: 'feedback', memoryId: 'm-nope', rating: 'down', causationId: 'ev-6' },
    ],
    ctxOf({ memories: { 'm-wrong': wrong, 'm-good': good, 'm-mid': mid, 'm-old': old } }),
  );
  t.deepEqual(rows(out).slice(0, 1), [['INVALIDATE', 'm-wrong', at(5), null]]);
  t.is(out[0]?.op === 'INVALIDATE' && out[0].reason, 'user marked it wrong');
  t.deepEqual(
    out.slice(1).map((ch) => (ch.op === 'NOOP' ? [ch.targetId, ch.strength] : [ch.op])),
    [
      ['m-good', 3650],
      ['m-mid', 15],
      ['m-mid', 22.5],
    ],
  );
});
