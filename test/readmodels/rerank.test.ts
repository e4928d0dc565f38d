import test from 'ava';
import type { SourceRef } from '../../core/model.js';
import type { MemoryState } from '../../core/ports.js';
import { diversify, mentionsName } from '../../readmodels/retrieval/rerank.js';
import { src, stateFixture, tri } from '../helpers/fixtures.js';

const about = (text: string, over: Parameters<typeof stateFixture>[3] = {}): MemoryState => stateFixture('m', text, 1_000, over);

test('mentionsName matches the triple subject', (t) => {
  const s = about('likes hiking', { triple: tri('Caroline', 'likes', 'hiking') });
  t.true(mentionsName(s, ['caroline']));
  t.false(mentionsName(s, ['melanie']));
  // The object is not the subject.
  t.false(mentionsName(about('x', { triple: tri('Bob', 'knows', 'Melanie') }), ['melanie']));
});

test('mentionsName matches an entity case-insensitively', (t) => {
  const s = about('went to the lake', { entities: ['Lake Tahoe', 'MELANIE'] });
  t.true(mentionsName(s, ['melanie']));
  t.true(mentionsName(s, ['tahoe']));
  t.false(mentionsName(s, ['caroline']));
});

test('mentionsName matches a speaker label only when the speaker equals the name', (t) => {
  const s = about('Caroline: I went hiking yesterday');
  t.true(mentionsName(s, ['caroline']));
  t.false(mentionsName(s, ['carol']), 'a prefix of the speaker is not the speaker');
  t.false(mentionsName(about('Carol: hello'), ['caroline']));
  t.false(mentionsName(about('I went hiking with Caroline'), ['caroline']), 'a name in the text body is not a label');
});

test('mentionsName is true when any name matches and false for no names', (t) => {
  const s = about('Melanie: painted a lake');
  t.true(mentionsName(s, ['bob', 'melanie']));
  t.false(mentionsName(s, ['bob', 'alice']));
  t.false(mentionsName(s, []));
});

test('mentionsName does not match a name that is only part of an entity or subject', (t) => {
  t.false(mentionsName(about('x', { entities: ['Caroline'] }), ['carol']));
  t.false(mentionsName(about('x', { triple: tri('Joanna', 'likes', 'tea') }), ['ann']));
});

interface Row {
  readonly label: string;
  readonly state: MemoryState;
}
const at = (offset: number, partition = 0): SourceRef => ({ ...src(`msg-${offset}`), offset, partition });
const row = (label: string, sources: SourceRef[]): Row => ({ label, state: stateFixture(label, `text ${label}`, 1_000, { sources }) });
const labels = (rows: readonly Row[]): string[] => rows.map((r) => r.label);

test('diversify moves results whose sources are all cited above after the others, keeping both orders', (t) => {
  const ranked = [
    row('A', [at(1), at(2)]),
    row('B', [at(1)]), // repeat of A
    row('C', [at(3)]),
    row('D', [at(2), at(1)]), // repeat of A
    row('E', []),
    row('F', [at(3), at(4)]), // adds 4: fresh
    row('G', [at(4)]), // repeat of F
  ];
  t.deepEqual(labels(diversify(ranked)), ['A', 'C', 'E', 'F', 'B', 'D', 'G']);
});

test('diversify leaves a ranking without repeats unchanged', (t) => {
  const ranked = [row('A', [at(1)]), row('B', [at(2)]), row('C', []), row('D', [at(3), at(1)])];
  t.deepEqual(labels(diversify(ranked)), ['A', 'B', 'C', 'D']);
  t.deepEqual(diversify([]), []);
});

test('diversify keeps results without sources in place', (t) => {
  const ranked = [row('A', [at(1)]), row('E', []), row('F', []), row('B', [at(1)]), row('C', [at(2)])];
  t.deepEqual(labels(diversify(ranked)), ['A', 'E', 'F', 'C', 'B']);
});

test('diversify tells sources apart by partition', (t) => {
  const ranked = [row('A', [at(1, 0)]), row('B', [at(1, 1)])];
  t.deepEqual(labels(diversify(ranked)), ['A', 'B']);
});

test('diversify returns the same elements and leaves its input alone', (t) => {
  const ranked = [row('A', [at(1)]), row('B', [at(1)]), row('C', [at(2)])];
  const copy = [...ranked];
  const out = diversify(ranked);
  t.is(out.length, ranked.length);
  t.deepEqual(labels(out).sort(), labels(ranked).sort());
  for (const r of ranked) t.true(out.includes(r), `${r.label} is returned as the same object`);
  t.deepEqual(ranked, copy);
  t.not(out, ranked);
});
