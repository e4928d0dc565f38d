import test from 'ava';
import { extractFacts, type FactDraft } from '../../activities/extract/facts.js';
import { isLowInformation } from '../../activities/extract/information.js';

/** Wednesday 2023-05-10, 12:00 UTC. */
const REF = Date.UTC(2023, 4, 10, 12);
const SPEAKER = 'Caroline';

type Row = readonly [sentence: string, expected: ReadonlyArray<readonly [string, string, string, boolean?]>];

/** Sentence → the triples it must yield (subject, predicate, object, retraction), exactly. */
const TABLE: readonly Row[] = [
  // first person, functional predicates
  ['I live in Berlin.', [['Caroline', 'lives_in', 'Berlin']]],
  ['i live in Berlin now', [['Caroline', 'lives_in', 'Berlin']]],
  ['I moved to Paris.', [['Caroline', 'lives_in', 'Paris']]],
  ["I'm from Sweden.", [['Caroline', 'from', 'Sweden']]],
  ['I work at Google.', [['Caroline', 'works_at', 'Google']]],
  ['I work at Google as a software engineer.', [['Caroline', 'works_at', 'Google'], ['Caroline', 'job_title', 'software engineer']]],
  ["I'm a nurse at the local hospital.", [['Caroline', 'job_title', 'nurse'], ['Caroline', 'works_at', 'local hospital']]],
  ['I work as a teacher.', [['Caroline', 'job_title', 'teacher']]],
  // Said by Caroline herself: the speaker attribution already says it, so it is not a fact worth keeping.
  ['My name is Caroline.', []],
  ["I'm 32 years old.", [['Caroline', 'age', '32']]],
  ["I'm married.", [['Caroline', 'relationship_status', 'married']]],
  ['I study at MIT.', [['Caroline', 'studies_at', 'MIT']]],
  // favourites and preferences
  ['My favourite food is pizza.', [['Caroline', 'favourite_food', 'pizza']]],
  ['My favorite movies are the Star Wars films.', [['Caroline', 'favourite_movie', 'Star Wars films']]],
  ['Pottery is my favorite hobby.', [['Caroline', 'favourite_activity', 'pottery']]],
  ['I love hiking in the mountains.', [['Caroline', 'likes', 'hiking in the mountains']]],
  ['I really enjoy jazz.', [['Caroline', 'likes', 'jazz']]],
  ['I hate mushrooms.', [['Caroline', 'dislikes', 'mushrooms']]],
  ["I can't stand traffic.", [['Caroline', 'dislikes', 'traffic']]],
  ["I don't like horror movies.", [['Caroline', 'dislikes', 'horror movies']]],
  ['I prefer tea over coffee.', [['Caroline', 'prefers', 'tea']]],
  // pets, visits, plans
  ['I have a dog named Max.', [['Caroline', 'has_pet', 'dog named Max']]],
  ['I visited Japan in 2019.', [['Caroline', 'visited', 'Japan']]],
  ["I'm planning to run a marathon.", [['Caroline', 'plans', 'run a marathon']]],
  // third person
  ['Melanie lives in Boston.', [['Melanie', 'lives_in', 'Boston']]],
  ['Melanie works for Microsoft.', [['Melanie', 'works_at', 'Microsoft']]],
  ['John is a photographer.', [['John', 'job_title', 'photographer']]],
  ["Melanie's favourite book is Charlotte's Web.", [['Melanie', 'favourite_book', "Charlotte's Web"]]],
  // relatives
  ['My sister Anna lives in Boston.', [['Caroline', 'has_sister', 'Anna'], ['Anna', 'lives_in', 'Boston']]],
  ['My mom is a lawyer.', [["Caroline's mother", 'job_title', 'lawyer']]],
  ["My brother works at Tesla.", [["Caroline's brother", 'works_at', 'Tesla']]],
  ["Melanie's husband John works at Apple.", [['Melanie', 'has_husband', 'John'], ['John', 'works_at', 'Apple']]],
  ['I have a sister named Julia.', [['Caroline', 'has_sister', 'Julia']]],
  // two clauses, shared subject
  ['I live in Boston and work at Google.', [['Caroline', 'lives_in', 'Boston'], ['Caroline', 'works_at', 'Google']]],
  ['My sister Anna lives in Boston and she is a nurse.', [['Caroline', 'has_sister', 'Anna'], ['Anna', 'lives_in', 'Boston'], ['Anna', 'job_title', 'nurse']]],
  // retractions
  ['I no longer live in Berlin.', [['Caroline', 'lives_in', 'Berlin', true]]],
  ["I don't like jazz anymore.", [['Caroline', 'likes', 'jazz', true]]],
  ['Please forget that I work at Google.', [['Caroline', 'works_at', 'Google', true]]],
  ['I stopped working at Google.', [['Caroline', 'works_at', 'Google', true]]],
  ["I'm not married anymore.", [['Caroline', 'relationship_status', 'married', true]]],
  ['I moved out of Chicago.', [['Caroline', 'lives_in', 'Chicago', true]]],
  // negations: never a positive fact (a negated triple is carried as a retraction)
  ["I don't live in Boston.", [['Caroline', 'lives_in', 'Boston', true]]],
  ["I'm not a nurse.", [['Caroline', 'job_title', 'nurse', true]]],
  ['I have never been to Paris.', [['Caroline', 'visited', 'Paris', true]]],
  // adverbs after an auxiliary, trailing "there", restatements
  ["I've also been to Prague.", [['Caroline', 'visited', 'Prague']]],
  ['Jonas is a software engineer there.', [['Jonas', 'job_title', 'software engineer']]],
  ["Just to be clear, I'm still a paediatric nurse.", [['Caroline', 'job_title', 'paediatric nurse']]],
  ["I'll still be a product designer.", [['Caroline', 'job_title', 'product designer']]],
  ["I'll be a doctor one day.", []],
  ["I'm actually based in York city centre, near the Minster.", [['Caroline', 'lives_in', 'York city centre']]],
  ['I actually quite like mushrooms now.', [['Caroline', 'likes', 'mushrooms']]],
  ["Instead I'm planning a trip to Iceland in September.", [['Caroline', 'plans', 'trip to Iceland']]],
  // a name for a relative is a relation fact; "is French" names no one
  ['My new boss is Rachel Green.', [['Caroline', 'has_boss', 'Rachel Green']]],
  ['My girlfriend is called Niamh.', [['Caroline', 'has_girlfriend', 'Niamh']]],
  ['My dog is called Rex.', [['Caroline', 'has_pet', 'dog named Rex']]],
  ['My mom is French.', []],
  // lists and second facts of a clause
  ['I like running and swimming.', [['Caroline', 'likes', 'running'], ['Caroline', 'likes', 'swimming']]],
  ['I love fish and chips.', [['Caroline', 'likes', 'fish and chips']]],
  ['I have two cats, Miso and Tofu.', [['Caroline', 'has_pet', 'cat named Miso'], ['Caroline', 'has_pet', 'cat named Tofu']]],
  ['I started working at Siemens as a data analyst.', [['Caroline', 'works_at', 'Siemens'], ['Caroline', 'job_title', 'data analyst']]],
  ['Omar is engaged to a girl called Lina.', [['Omar', 'relationship_status', 'engaged'], ['Omar', 'has_fiance', 'Lina']]],
  ['Niamh and I got engaged last Friday!', [['Caroline', 'relationship_status', 'engaged'], ['Niamh', 'relationship_status', 'engaged']]],
  ['Aisha is moving to Montreal next month.', [['Aisha', 'plans', 'move to Montreal']]],
  // retractions of pets and of a gerund ("what I said about hating…")
  ["I don't have the cats anymore.", [['Caroline', 'has_pet', 'cats', true]]],
  ['Forget what I said about hating mushrooms.', [['Caroline', 'dislikes', 'mushrooms', true]]],
  // common personal predicates
  ["I'm allergic to peanuts.", [['Caroline', 'allergic_to', 'peanuts']]],
  ['I went to a pottery class with Priya.', [['Caroline', 'attended', 'pottery class']]],
  ['Omar visited me last weekend.', [['Omar', 'visited', 'Caroline']]],
  // talk about the conversation itself: nothing
  ['Sorry, I posted that by mistake.', []],
  // questions and chatter: nothing
  ['Do you live in Boston?', []],
  ['Where do you work?', []],
  ['I love that!', []],
  ["I'm so happy for you!", []],
  ['Sounds like you love painting.', []],
];

function triplesOf(facts: readonly FactDraft[]): Array<[string, string, string, boolean]> {
  return facts.filter((f) => f.triple !== null).map((f) => [f.triple!.subject, f.triple!.predicate, f.triple!.object, f.retraction]);
}

for (const [sentence, expected] of TABLE) {
  test(`triples of ${JSON.stringify(sentence)}`, (t) => {
    const facts = extractFacts(sentence, { speaker: SPEAKER, refMs: REF });
    const want = expected.map(([s, p, o, r]) => [s, p, o, r ?? false]);
    t.deepEqual(triplesOf(facts), want);
  });
}

test('the table has at least 30 cases, with third person, relatives, retractions, negations and favourites', (t) => {
  t.true(TABLE.length >= 30);
  const all = TABLE.flatMap(([, e]) => e);
  t.true(all.some(([s]) => s === 'Melanie'));
  t.true(all.some(([, p]) => p.startsWith('has_') && p !== 'has_pet'));
  t.true(all.some(([, , , r]) => r === true));
  t.true(all.some(([, p]) => p.startsWith('favourite_')));
});

test('fact texts are standalone third-person sentences', (t) => {
  const texts = (s: string): string[] => extractFacts(s, { speaker: SPEAKER, refMs: REF }).map((f) => f.text);
  t.deepEqual(texts('I live in Berlin.'), ['Caroline lives in Berlin.']);
  t.deepEqual(texts("I've been painting for years."), ['Caroline has been painting for years.']);
  t.deepEqual(texts('I no longer live in Berlin.'), ['Caroline no longer lives in Berlin.']);
  t.deepEqual(texts('Please forget that I work at Google.'), ['Caroline no longer works at Google.']);
  t.deepEqual(texts("I don't live in Boston."), ['Caroline does not live in Boston.']);
  t.deepEqual(texts('I have a sister named Julia.'), ['Caroline has a sister named Julia.']);
  t.deepEqual(texts('My sister Anna lives in Boston.'), ['Caroline has a sister named Anna.', "Caroline's sister Anna lives in Boston."]);
  t.deepEqual(texts('I love painting with my kids.'), ["Caroline loves painting with Caroline's kids."]);
});

test('kinds follow the predicate: preferences, events, facts', (t) => {
  const kinds = (s: string): string[] => extractFacts(s, { speaker: SPEAKER, refMs: REF }).map((f) => f.kind);
  t.deepEqual(kinds('I love jazz.'), ['preference']);
  t.deepEqual(kinds('I hate mushrooms.'), ['preference']);
  t.deepEqual(kinds('My favourite food is pizza.'), ['preference']);
  t.deepEqual(kinds("I'm planning to run a marathon."), ['event']);
  t.deepEqual(kinds('I visited Japan.'), ['event']);
  t.deepEqual(kinds('I live in Berlin.'), ['fact']);
});

test('negations never become positive facts', (t) => {
  for (const s of ["I don't live in Boston.", "I'm not a nurse.", 'I have never been to Paris.', "I don't have a dog.", 'Melanie does not work at Google.']) {
    const facts = extractFacts(s, { speaker: SPEAKER, refMs: REF });
    t.false(facts.some((f) => f.triple !== null && !f.retraction), s);
  }
  const plain = extractFacts("I don't eat meat.", { speaker: SPEAKER, refMs: REF });
  t.deepEqual(plain.map((f) => [f.text, f.triple]), [['Caroline does not eat meat.', null]]);
});

test('low-information turns are recognised', (t) => {
  for (const s of ['ok', 'haha', 'lol', 'thanks!', 'Thank you so much!', 'hi', 'Hey!', 'good morning', '😂😂', '👍', 'ok cool', 'love it']) {
    t.true(isLowInformation(s), s);
  }
  for (const s of ['I live in Berlin.', 'I went to a support group yesterday.', 'Pottery is my favourite hobby.']) {
    t.false(isLowInformation(s), s);
  }
});

test('he and she resolve to the person named earlier in the message', (t) => {
  const facts = extractFacts('My friend Jon moved to Denver. He works at a bakery.', { speaker: SPEAKER, refMs: REF });
  t.deepEqual(triplesOf(facts), [
    ['Caroline', 'has_friend', 'Jon', false],
    ['Jon', 'lives_in', 'Denver', false],
    ['Jon', 'works_at', 'bakery', false],
  ]);
  t.deepEqual(extractFacts('She loves hiking.', { speaker: SPEAKER, refMs: REF }), []);
});

test('the speaker name comes from the context, for any speaker', (t) => {
  const facts = extractFacts("I'm a teacher.", { speaker: 'Melanie', refMs: REF });
  t.deepEqual(triplesOf(facts), [['Melanie', 'job_title', 'teacher', false]]);
  t.deepEqual(facts[0]?.about, ['Melanie']);
});

test('a bare weekday resolves forward for present or future tense, backward for the past', (t) => {
  // Monday 2024-06-03.
  const monday = Date.UTC(2024, 5, 3, 12);
  const dateOf = (s: string): string => new Date(extractFacts(s, { speaker: SPEAKER, refMs: monday })[0]?.validFrom ?? 0).toISOString().slice(0, 10);
  t.is(dateOf("I'm running the Hackney Half on Sunday."), '2024-06-09');
  t.is(dateOf('I turned 30 on Saturday.'), '2024-06-01');
  const plan = extractFacts("I'm running the Hackney Half on Sunday.", { speaker: SPEAKER, refMs: monday });
  t.deepEqual(triplesOf(plan), [['Caroline', 'plans', 'run the Hackney Half', false]]);
});

test('he and she resolve to the person last named earlier in the session when the context gives one', (t) => {
  const facts = extractFacts('She lives in Leeds now, actually.', { speaker: SPEAKER, refMs: REF, lastNamed: 'Priya' });
  t.deepEqual(triplesOf(facts), [['Priya', 'lives_in', 'Leeds', false]]);
});

test('restatements keep the hedge in the text but not in the triple', (t) => {
  const facts = extractFacts('I still live in Munich.', { speaker: SPEAKER, refMs: REF });
  t.deepEqual(triplesOf(facts), [['Caroline', 'lives_in', 'Munich', false]]);
  t.deepEqual(extractFacts("I don't have the cats anymore.", { speaker: SPEAKER, refMs: REF }).map((f) => f.text), ['Caroline no longer has cats.']);
});
