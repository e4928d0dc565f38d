import test from 'ava';
import { analyseQuery, inWindows, windowOf } from '../../readmodels/retrieval/query.js';

const NOW = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

test('keywords drop stopwords and keep content words in query order', (t) => {
  const q = analyseQuery('What did Caroline research?', NOW);
  t.is(q.text, 'What did Caroline research?');
  t.true(q.keywords.includes('caroline'));
  t.true(q.keywords.includes('research'));
  t.false(q.keywords.includes('what'));
  t.false(q.keywords.includes('did'));
  t.true(q.keywords.indexOf('caroline') < q.keywords.indexOf('research'));
});

test('keywords are deduplicated and empty for a query of stopwords only', (t) => {
  t.deepEqual(analyseQuery('painting painting Painting', NOW).keywords, ['painting']);
  t.deepEqual(analyseQuery('What did you do?', NOW).keywords, []);
});

test('names are lower-cased capitalised words that are not stopwords', (t) => {
  t.deepEqual(analyseQuery('What did Caroline research?', NOW).names, ['caroline']);
  // Possessives are folded; sentence-initial stopwords ("Where", "In") and "I" are not names.
  const q = analyseQuery("Where did Caroline's sister go? In Sweden, I think, with Caroline.", NOW);
  t.deepEqual(q.names, ['caroline', 'sweden']);
  t.deepEqual(analyseQuery('what did she paint last summer?', NOW).names, []);
});

test('"in May 2023" yields a window covering May 2023', (t) => {
  const q = analyseQuery('What did Melanie do in May 2023?', NOW);
  t.deepEqual(q.dates, [{ from: Date.UTC(2023, 4, 1), to: Date.UTC(2023, 5, 1) }]);
  t.true(inWindows(Date.UTC(2023, 4, 8, 13, 56), q.dates));
  t.false(inWindows(Date.UTC(2023, 3, 30, 23, 59), q.dates));
  t.false(inWindows(Date.UTC(2023, 5, 1), q.dates));
  // "May" is a month here, not a name.
  t.deepEqual(q.names, ['melanie']);
});

test('a day and a bare year give day and year windows', (t) => {
  t.deepEqual(analyseQuery('What happened on 8 May 2023?', NOW).dates, [{ from: Date.UTC(2023, 4, 8), to: Date.UTC(2023, 4, 9) }]);
  t.deepEqual(analyseQuery('When did Jon start in 2022?', NOW).dates, [{ from: Date.UTC(2022, 0, 1), to: Date.UTC(2023, 0, 1) }]);
});

test('a query without dates has no windows', (t) => {
  t.deepEqual(analyseQuery('What did Caroline research?', NOW).dates, []);
});

test('"last week" resolves relative to now', (t) => {
  const later = NOW + 40 * DAY;
  const a = analyseQuery('What did I do last week?', NOW).dates;
  const b = analyseQuery('What did I do last week?', later).dates;
  t.is(a.length, 1);
  t.is(b.length, 1);
  const [wa, wb] = [a[0], b[0]];
  if (!wa || !wb) return t.fail();
  // A week before `now`, before `now`, and moving with it.
  t.true(inWindows(NOW - 7 * DAY, a));
  t.true(wa.to <= NOW);
  t.true(wa.from >= NOW - 14 * DAY);
  t.true(inWindows(later - 7 * DAY, b));
  t.false(inWindows(NOW - 7 * DAY, b));
  t.is(wb.from - wa.from, 40 * DAY);
});

test('windowOf: day, month and year windows are calendar-aligned in UTC', (t) => {
  const at = Date.UTC(2023, 4, 8, 13, 56, 7);
  t.deepEqual(windowOf(at, 'day'), { from: Date.UTC(2023, 4, 8), to: Date.UTC(2023, 4, 9) });
  t.deepEqual(windowOf(at, 'month'), { from: Date.UTC(2023, 4, 1), to: Date.UTC(2023, 5, 1) });
  t.deepEqual(windowOf(at, 'year'), { from: Date.UTC(2023, 0, 1), to: Date.UTC(2024, 0, 1) });
});

test('windowOf rolls over month and year ends', (t) => {
  const at = Date.UTC(2023, 11, 31, 23, 59);
  t.deepEqual(windowOf(at, 'day'), { from: Date.UTC(2023, 11, 31), to: Date.UTC(2024, 0, 1) });
  t.deepEqual(windowOf(at, 'month'), { from: Date.UTC(2023, 11, 1), to: Date.UTC(2024, 0, 1) });
  // A leap-year February has 29 days.
  t.deepEqual(windowOf(Date.UTC(2024, 1, 10), 'month'), { from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 2, 1) });
});

test('windowOf approx spans three days either side of the instant', (t) => {
  const at = Date.UTC(2023, 4, 8, 12);
  t.deepEqual(windowOf(at, 'approx'), { from: at - 3 * DAY, to: at + 3 * DAY });
});

test('inWindows is [from, to): from is in, to is out', (t) => {
  const w = [{ from: 1000, to: 2000 }];
  t.true(inWindows(1000, w));
  t.true(inWindows(1999, w));
  t.false(inWindows(2000, w));
  t.false(inWindows(999, w));
});

test('inWindows matches any of several windows and none of an empty list', (t) => {
  const ws = [
    { from: 0, to: 10 },
    { from: 100, to: 110 },
  ];
  t.true(inWindows(105, ws));
  t.false(inWindows(50, ws));
  t.false(inWindows(5, []));
});
