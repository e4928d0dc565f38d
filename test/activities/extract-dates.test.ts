import test from 'ava';
import { datePhrase, findDates, isoDate } from '../../activities/extract/dates.js';
import { extractFacts } from '../../activities/extract/facts.js';

/** Wednesday 2023-05-10, 12:00 UTC. */
const WEDNESDAY = Date.UTC(2023, 4, 10, 12);

test('the reference day is a Wednesday', (t) => {
  t.is(new Date(WEDNESDAY).getUTCDay(), 3);
});

test('relative and absolute dates resolve against the message time', (t) => {
  const one = (text: string): { iso: string; phrase: string } => {
    const d = findDates(text, WEDNESDAY)[0];
    if (!d) throw new Error(`no date in ${text}`);
    return { iso: isoDate(d.at), phrase: datePhrase(d) };
  };
  t.deepEqual(one('I went there last Tuesday'), { iso: '2023-05-09', phrase: 'on 2023-05-09' });
  t.deepEqual(one('we move next month'), { iso: '2023-06-10', phrase: 'in 2023-06' });
  t.is(one('I adopted him two years ago').iso.slice(0, 4), '2021');
  t.deepEqual(one('we met on 3 May'), { iso: '2023-05-03', phrase: 'on 2023-05-03' });
  t.deepEqual(one('yesterday was fun'), { iso: '2023-05-09', phrase: 'on 2023-05-09' });
  t.deepEqual(one('see you tomorrow'), { iso: '2023-05-11', phrase: 'on 2023-05-11' });
  t.deepEqual(one('I painted it in 2022'), { iso: '2022-01-01', phrase: 'in 2022' });
});

test('words that only look like dates are ignored', (t) => {
  for (const text of ['we sat down in the sun', 'I live in Boston now', 'I may go there', 'my second job']) {
    t.deepEqual(findDates(text, WEDNESDAY), [], text);
  }
});

test('resolution does not depend on the time of day of the message', (t) => {
  const late = Date.UTC(2023, 4, 10, 23, 30);
  const d = findDates('last Tuesday', late)[0];
  t.is(d && isoDate(d.at), '2023-05-09');
});

test('a dated event gets the resolved date as validFrom and in its text', (t) => {
  const [f] = extractFacts('I went to a support group last Tuesday.', { speaker: 'Caroline', refMs: WEDNESDAY });
  t.truthy(f);
  t.is(f!.kind, 'event');
  t.is(f!.text, 'Caroline went to a support group on 2023-05-09.');
  t.is(isoDate(f!.validFrom), '2023-05-09');
  t.true(f!.dated);
});

test('an undated fact is valid from the message time', (t) => {
  const [f] = extractFacts('I live in Berlin.', { speaker: 'Caroline', refMs: WEDNESDAY });
  t.is(f!.validFrom, WEDNESDAY);
  t.false(f!.dated);
});

test('dates at the start of a sentence, in the future and vague offsets', (t) => {
  const texts = (s: string): string[] => extractFacts(s, { speaker: 'Caroline', refMs: WEDNESDAY }).map((f) => f.text);
  t.deepEqual(texts('Last Tuesday, I went camping with my kids.'), ["Caroline went camping with Caroline's kids on 2023-05-09."]);
  const plan = extractFacts("I'm going to visit my parents next month.", { speaker: 'Caroline', refMs: WEDNESDAY });
  t.is(plan[0]?.kind, 'event');
  t.is(plan[0]?.triple?.predicate, 'plans');
  t.is(isoDate(plan[0]!.validFrom), '2023-06-10');
  t.regex(plan[0]!.text, /in 2023-06\.$/);
  const ago = extractFacts('I adopted a cat two years ago.', { speaker: 'Caroline', refMs: WEDNESDAY });
  t.is(ago[0]?.triple?.predicate, 'has_pet');
  t.is(new Date(ago[0]!.validFrom).getUTCFullYear(), 2021);
  const since = extractFacts("I've lived in Boston since 2019.", { speaker: 'Caroline', refMs: WEDNESDAY });
  t.deepEqual(since.map((f) => [f.triple?.predicate, f.text]), [['lives_in', 'Caroline has lived in Boston since 2019.']]);
});

test('a third-person dated event keeps its subject', (t) => {
  const facts = extractFacts('Melanie went camping yesterday.', { speaker: 'Caroline', refMs: WEDNESDAY });
  t.deepEqual(facts.map((f) => [f.kind, f.text]), [['event', 'Melanie went camping on 2023-05-09.']]);
});
