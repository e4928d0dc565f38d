/**
 * The predicate patterns: what follows a subject ("live in Boston", "am a nurse at the local
 * hospital", "love pottery") mapped to normalised predicates (core/predicates.ts) and a memory
 * kind. Each pattern is anchored at the start of the predicate part of a clause and accepts both
 * first- and third-person verb forms.
 */
import nlp from 'compromise';
import type { MemoryKind } from '../../core/model.js';
import { cleanObject } from './objects.js';
import { PET_PATTERN, RELATION_PATTERN, relationOf, relationPredicate, singularRelation } from './relations.js';
import { isName } from './subjects.js';

/** One recognised predicate of a clause. */
export interface PredicateMatch {
  readonly predicate: string;
  /** Triple object (no leading determiner). */
  readonly object: string;
  /** The object as it reads in a sentence. */
  readonly display: string;
  readonly kind: MemoryKind;
  /** The wording itself retracts the fact ("moved out of Boston"). */
  readonly retract: boolean;
}

/** What a pattern needs to know about the clause. */
export interface PatternContext {
  /** Whose "my" it is (the speaker). */
  readonly owner: string;
}

type Builder = (m: RegExpExecArray, ctx: PatternContext) => PredicateMatch[];

interface Pattern {
  readonly re: RegExp;
  readonly build: Builder;
}

/** The kind of memory a predicate makes. */
export function kindOfPredicate(predicate: string): MemoryKind {
  if (/^(?:likes|dislikes|prefers)$/.test(predicate) || predicate.startsWith('favourite_')) return 'preference';
  if (/^(?:visited|plans|attended|graduated_from|ran)$/.test(predicate)) return 'event';
  if (predicate === 'listens_to') return 'preference';
  return 'fact';
}

function one(
  predicate: string,
  raw: string | undefined,
  ctx: PatternContext,
  opts: { cutPrepositions?: boolean; retract?: boolean } = {},
): PredicateMatch[] {
  if (raw === undefined) return [];
  const o = cleanObject(raw, { owner: ctx.owner, cutPrepositions: opts.cutPrepositions ?? false });
  if (!o || /\byou(?:r|rs)?\b/i.test(o.object)) return [];
  return [{ predicate, object: o.object, display: o.display, kind: kindOfPredicate(predicate), retract: opts.retract ?? false }];
}

/** Occupations compromise does not tag as #Actor. */
const EXTRA_OCCUPATIONS = new Set(
  `nurse counselor counsellor student volunteer barista engineer developer programmer scientist doctor
  therapist paramedic firefighter pilot soldier accountant pharmacist dentist surgeon professor
  lecturer researcher freelancer consultant designer architect librarian cashier waiter waitress
  bartender chef cook baker farmer plumber electrician carpenter mechanic journalist editor author
  musician singer dancer actor actress athlete coach trainer veterinarian vet lawyer attorney
  paralegal receptionist secretary assistant intern analyst manager director entrepreneur
  photographer artist painter sculptor writer teacher tutor nanny caregiver social worker
  psychologist psychiatrist banker broker realtor clerk driver`.split(/\s+/),
);
/** Heads compromise tags #Actor that are identities or roles in a family, not jobs. */
const NOT_OCCUPATIONS = new Set(
  `person man woman guy girl boy kid human fan member beginner lover believer friend mom mother dad father
  parent wife husband sister brother son daughter grandma grandmother grandpa grandfather aunt uncle
  cousin baby adult child teen teenager mess fool genius dork nerd introvert extrovert partner spouse
  boyfriend girlfriend fiance fiancee roommate neighbour neighbor colleague coworker niece nephew sibling`.split(/\s+/),
);

/** True when a noun phrase names an occupation ("registered nurse", "software engineer"). */
export function isOccupation(phrase: string): boolean {
  const words = phrase.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  const head = words[words.length - 1];
  if (head === undefined || NOT_OCCUPATIONS.has(head)) return false;
  if (EXTRA_OCCUPATIONS.has(head) || (words.length > 1 && EXTRA_OCCUPATIONS.has(words.slice(-2).join(' ')))) {
    return true;
  }
  return nlp(head).has('#Actor');
}

const BE = String.raw`(?:am|is|are|was|were)`;
const NAME = String.raw`([A-Z][\p{L}-]+(?: [A-Z][\p{L}-]+)?)`;

/** The leading capitalised words of a match (patterns are case-insensitive, names are not). */
function capitalised(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const words: string[] = [];
  for (const w of raw.split(' ')) {
    if (!/^\p{Lu}/u.test(w)) break;
    words.push(w);
  }
  return words.length > 0 ? words.join(' ') : undefined;
}
const OBJ = String.raw`(.+)`;

/** Job title with an optional place of work: "a nurse at the local hospital". */
const jobAt: Builder = (m, ctx) => {
  const phrase = (m[1] ?? '').trim();
  const at = /^(.+?)\s+(?:at|for|with)\s+(.+)$/i.exec(phrase);
  const title = at ? (at[1] as string) : phrase;
  const titleObj = cleanObject(title, { owner: ctx.owner, cutPrepositions: true });
  if (!titleObj || !isOccupation(titleObj.object)) return [];
  const out: PredicateMatch[] = [
    { predicate: 'job_title', object: titleObj.object, display: titleObj.display, kind: 'fact', retract: false },
  ];
  if (at) out.push(...one('works_at', at[2], ctx, { cutPrepositions: true }));
  return out;
};

/** Works at a place, optionally "as a <title>". */
const worksAt: Builder = (m, ctx) => {
  const raw = m[1] ?? '';
  const as = /^(.+?)\s+as\s+(?:a|an)\s+(.+)$/i.exec(raw);
  const out = one('works_at', as ? as[1] : raw, ctx, { cutPrepositions: true });
  if (as) out.push(...one('job_title', as[2], ctx, { cutPrepositions: true }));
  return out;
};

/** "engaged to a girl called Lina": the status, and the partner as a relation. */
const partnered: Builder = (m, ctx) => {
  const status = (m[1] ?? '').toLowerCase();
  const name = m[2];
  const out = one('relationship_status', status, ctx);
  if (name !== undefined && isName(name)) {
    const predicate = status === 'engaged' ? 'has_fiance' : 'has_spouse';
    out.push({ predicate, object: name, display: name, kind: 'fact', retract: false });
  }
  return out;
};

/** A pet, optionally named: "a dog named Max", "two cats". */
const pet: Builder = (m) => {
  const animal = relationOf(m[1] ?? '');
  if (!animal) return [];
  const names = namesList(m[2]);
  if (names.length === 0) return [{ predicate: 'has_pet', object: animal.canonical, display: animal.canonical, kind: 'fact', retract: false }];
  // "two cats, Miso and Tofu": one fact per named animal, each in the singular.
  const species = singularRelation(animal.canonical);
  return names.map((name) => {
    const object = `${species} named ${name}`;
    return { predicate: 'has_pet', object, display: object, kind: 'fact' as const, retract: false };
  });
};

/** The names listed at the start of a span ("Miso and Tofu", "Rex, Bella and Max"), in order. */
function namesList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw.split(/\s*,\s*(?:and\s+)?|\s+and\s+|\s+&\s+/)) {
    const name = capitalised(part.trim());
    if (name === undefined || !isName(name)) break;
    out.push(name);
    // A part that goes on after the name ("Max who is five") ends the list.
    if (name !== part.trim()) break;
  }
  return out;
}

/** A named relative: "a sister named Anna". */
const namedRelative: Builder = (m) => {
  const rel = relationOf(m[1] ?? '');
  const name = capitalised(m[2]);
  if (!rel || !name) return [];
  return [{ predicate: relationPredicate(rel), object: name, display: name, kind: 'fact', retract: false }];
};

/** A place cleaned on its own, then written after a verb ("move to" + "Montreal next year" → "move to Montreal"). */
function prefixed(predicate: string, verb: string, raw: string | undefined, ctx: PatternContext): PredicateMatch[] {
  if (raw === undefined) return [];
  const o = cleanObject(raw, { owner: ctx.owner, cutPrepositions: true });
  if (!o) return [];
  return one(predicate, `${verb} ${o.display}`, ctx);
}

/** Plans: "going to visit Japan" → plans "visit Japan"; "going to the beach" → "go to the beach". */
const plans: Builder = (m, ctx) => {
  const raw = (m[1] ?? '').trim();
  if (/^(?:(?:the|a|an|my)\b|[A-Z])/.test(raw) && /^going to\b/i.test(m[0].replace(/^(?:am|is|are)\s+/i, ''))) {
    // A destination is a place: "going to Japan for two weeks" plans "go to Japan".
    return prefixed('plans', 'go to', raw, ctx).filter((p) => isPlan(p.object));
  }
  return one('plans', raw, ctx).filter((p) => isPlan(p.object));
};

/** Verbs of intentions that are not plans ("I'll keep you posted", "I will never forget it"). */
const NOT_PLANS =
  /^(?:remember|forget|keep|do|let|see|try|check|think|be|have|get|tell|never|always|definitely|probably|totally|make sure|give it|say|miss|love|like)\b/i;

/** True when a planned object reads as an action of one's own ("visit Japan", "move to Paris"). */
function isPlan(object: string): boolean {
  if (NOT_PLANS.test(object) || /\b(?:it|that|this|them|ya|you|u)\b/i.test(object)) return false;
  const first = object.split(' ')[0] ?? '';
  return nlp(`I will ${first}`).match('will [#Verb]').found || /^\w+ing$/.test(first);
}

/** Where someone moved, was born, grew up: places, cut at prepositions. */
const place = (predicate: string, retract = false): Builder => (m, ctx) =>
  one(predicate, m[1], ctx, { cutPrepositions: true, retract });

/** Likes: "love to paint" keeps the verb phrase ("paint"). */
const likes = (predicate: string): Builder => (m, ctx) => {
  const raw = (m[1] ?? '').replace(/^to\s+/i, '');
  if (/^(?:it|that|this|you|them)\b/i.test(raw) && raw.split(' ').length <= 2) return [];
  if (/^(?:how|what|when|where|why|who|whether|if|seeing|hearing|being)\b/i.test(raw)) return [];
  return listItems(raw).flatMap((item) => one(predicate, item, ctx));
};

/**
 * The items of a liked list, one preference each: activities ("running and swimming") or a comma
 * list ("jazz, blues and soul"). Two plain nouns joined by "and" stay one ("fish and chips").
 */
function listItems(raw: string): string[] {
  const head = raw.split(/[.;:!?]/)[0] ?? raw;
  const items = head.split(/\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+/).map((p) => p.trim()).filter((p) => p.length > 0);
  if (items.length < 2) return [raw];
  const activities = items.every((p) => /^\w+ing\b/i.test(p));
  const commaList = /,/.test(head) && items.length >= 3 && items.every((p) => p.split(/\s+/).length <= 3);
  return activities || commaList ? items : [raw];
}

const VISIT_OBJECT = String.raw`((?:(?:the|a|an|my|our|this|that|some|school|church|college|university|work|home|camp|class|therapy|rehab|hospital|court|prison|jail)\b|[A-Z]).*)`;

/** Things one attends rather than visits ("went to a pottery class", "a Raptors game"). */
const EVENT_NOUN =
  /\b(?:class|classes|lesson|course|workshop|concert|gig|game|match|show|party|wedding|funeral|festival|conference|meetup|lecture|talk|seminar|exhibition|play|musical|service|meeting|group|ceremony|graduation|reunion|recital|screening|tournament)$/i;

/** A place visited, or an event attended (cut at "with", "for"…: the company is not the event). */
const visit: Builder = (m, ctx) => {
  const event = cleanObject(m[1] ?? '', { owner: ctx.owner, cutPrepositions: true });
  if (event && EVENT_NOUN.test(event.object)) return one('attended', m[1], ctx, { cutPrepositions: true });
  return one('visited', m[1], ctx);
};

/** Patterns in the order they are tried; the first that builds something wins. */
const PATTERNS: readonly Pattern[] = [
  // names
  { re: new RegExp(String.raw`^(?:am|is) (?:called|named) ${NAME}`, 'u'), build: (m, c) => one('name', m[1], c) },
  { re: new RegExp(String.raw`^(?:go|goes) by ${NAME}`, 'u'), build: (m, c) => one('name', m[1], c) },
  // age
  { re: /^(?:am|is) (\d{1,3})(?: years old| yrs old| yo| years of age| now| this year)?$/i, build: (m, c) => one('age', m[1], c) },
  { re: /^(?:just |recently )?turned (\d{1,3})\b/i, build: (m, c) => one('age', m[1], c) },
  // relationship status
  {
    re: new RegExp(String.raw`^(?:am|is|are|got) (?:now |happily |recently |newly |just )?(engaged|married) to (?:(?:a|an) (?:girl|guy|woman|man|lady|person|bloke|chap) (?:called|named) )?${NAME}`, 'u'),
    build: partnered,
  },
  {
    re: new RegExp(String.raw`^(?:am|is|are) (?:now |happily |recently |newly )?(single|married|divorced|engaged|widowed|separated|in a relationship|dating someone|seeing someone)(?: to ${NAME})?`, 'iu'),
    build: (m, c) => one('relationship_status', m[1]?.toLowerCase(), c),
  },
  { re: /^got (married|engaged|divorced)\b/i, build: (m, c) => one('relationship_status', m[1]?.toLowerCase(), c) },
  // where someone lives
  { re: new RegExp(String.raw`^(?:lived|used to live) in ${OBJ}`, 'i'), build: place('lived_in') },
  { re: new RegExp(String.raw`^(?:(?:am|is|are|have been|has been|have always|has always|have|has) )?(?:live|lives|living|lived|reside|resides|residing|based|staying|stay|stays) (?:in|at) ${OBJ}`, 'i'), build: place('lives_in') },
  { re: new RegExp(String.raw`^(?:(?:have|has|had|just|recently|finally) )*(?:moved|relocated)(?: back| over)? to ${OBJ}`, 'i'), build: place('lives_in') },
  { re: new RegExp(String.raw`^(?:(?:have|has|had|just) )*(?:moved out of|moved away from) ${OBJ}`, 'i'), build: place('lives_in', true) },
    { re: new RegExp(String.raw`^(?:am|is|are) (?:moving|relocating) (?:back )?to ${OBJ}`, 'i'), build: (m, c) => prefixed('plans', 'move to', m[1], c) },
  // origin
  { re: new RegExp(String.raw`^${BE} (?:originally )?from ${OBJ}`, 'i'), build: place('from') },
  { re: new RegExp(String.raw`^(?:come|comes|came) (?:originally )?from ${OBJ}`, 'i'), build: place('from') },
  { re: new RegExp(String.raw`^(?:grew up|was born and raised|was raised|were raised|was born) in ${OBJ}`, 'i'), build: place('from') },
  // work
  { re: new RegExp(String.raw`^(?:(?:am|is|are|have been|has been) )?(?:work|works|working) as (?:a |an )?${OBJ}`, 'i'), build: (m, c) => one('job_title', m[1], c, { cutPrepositions: true }) },
  { re: new RegExp(String.raw`^(?:(?:am|is|are|have been|has been) )?(?:work|works|working) (?:at|for) ${OBJ}`, 'i'), build: worksAt },
  { re: new RegExp(String.raw`^(?:am|is|are) employed (?:at|by) ${OBJ}`, 'i'), build: place('works_at') },
  { re: new RegExp(String.raw`^(?:(?:just|recently|finally) )?(?:got|landed|started|have|has|accepted|took|began) (?:a |an |my |the )?(?:new )?(?:job|position|role|internship|gig) (?:at|with) ${OBJ}`, 'i'), build: place('works_at') },
  { re: new RegExp(String.raw`^(?:started|began|start|am starting|is starting) (?:working|to work) (?:at|for) ${OBJ}`, 'i'), build: worksAt },
  // "I start at Figma next Monday": starting somewhere named is a new place of work.
  { re: new RegExp(String.raw`^(?:(?:will|am|is|are|just) )?(?:start|starts|starting|started|begin|begins|beginning) (?:at|with) ${OBJ}`, 'i'), build: (m, c) => (/^\p{Lu}/u.test(m[1] ?? '') ? one('works_at', m[1], c, { cutPrepositions: true }) : []) },
  { re: new RegExp(String.raw`^(?:quit|left) (?:my |the )?(?:job|position|work) (?:at|with) ${OBJ}`, 'i'), build: place('works_at', true) },
  { re: new RegExp(String.raw`^(?:worked|used to work) (?:at|for) ${OBJ}`, 'i'), build: place('worked_at') },
  { re: new RegExp(String.raw`^(?:became|become|becomes|am becoming|is becoming|trained as|train as|qualified as) (?:a |an )${OBJ}`, 'i'), build: (m, c) => one('job_title', m[1], c, { cutPrepositions: true }) },
  // study
  { re: new RegExp(String.raw`^(?:(?:am|is|are) )?(?:study|studies|studying|studied|enrolled|a student|attending|attend|attends) (?:at|in) ${OBJ}`, 'i'), build: (m, c) => (/^[A-Z]|university|college|school|academy|institute/i.test(m[1] ?? '') ? one('studies_at', m[1], c, { cutPrepositions: true }) : one('studies', m[1], c, { cutPrepositions: true })) },
  { re: new RegExp(String.raw`^(?:go|goes|going) to (?:school|college|university|uni) (?:at )?${OBJ}`, 'i'), build: place('studies_at') },
  { re: new RegExp(String.raw`^(?:(?:am|is|are) )?(?:study|studies|studying|majoring in|major in|majors in|taking classes in) ${OBJ}`, 'i'), build: (m, c) => one('studies', m[1], c, { cutPrepositions: true }) },
  // preferences
  { re: new RegExp(String.raw`^(?:prefer|prefers|preferred) ${OBJ}`, 'i'), build: (m, c) => one('prefers', (m[1] ?? '').split(/\s+(?:over|to|rather than|instead of|than)\s+/i)[0], c) },
  { re: new RegExp(String.raw`^(?:do|does|did) not (?:really |particularly )?(?:like|enjoy|love|care for) ${OBJ}`, 'i'), build: likes('dislikes') },
  { re: new RegExp(String.raw`^(?:hate|hates|hated|dislike|dislikes|disliked|detest|detests|loathe|loathes|cannot stand|can not stand|could not stand|cannot bear|despise|despises) ${OBJ}`, 'i'), build: likes('dislikes') },
  { re: new RegExp(String.raw`^${BE} not (?:a |really a )?(?:big |huge )?fan of ${OBJ}`, 'i'), build: likes('dislikes') },
  { re: new RegExp(String.raw`^${BE} (?:so |really )?(?:sick|tired) of ${OBJ}`, 'i'), build: likes('dislikes') },
  { re: new RegExp(String.raw`^(?:like|likes|liked|love|loves|loved|enjoy|enjoys|enjoyed|adore|adores|really like|really love) ${OBJ}`, 'i'), build: likes('likes') },
  { re: new RegExp(String.raw`^${BE} (?:really |so |very |super )?(?:into|passionate about|obsessed with|crazy about|keen on|fond of|a (?:big |huge |massive )?fan of|big on) ${OBJ}`, 'i'), build: likes('likes') },
  // pets and relatives
  { re: new RegExp(String.raw`^(?:have|has|had|got|adopted|own|owns|bought|rescued|have got|has got|got a new|welcomed)(?: (?:a|an|one|two|three|four|\d+|another|new|little|pet|baby|rescue|sweet|cute|the|my|our))* (${PET_PATTERN})s?(?:,? (?:(?:named|called) )?(.+))?`, 'iu'), build: pet },
  { re: new RegExp(String.raw`^(?:have|has|had)(?: (?:a|an|one|another|older|younger|little|big|twin|step))* (${RELATION_PATTERN}),? (?:named|called) ${NAME}`, 'iu'), build: namedRelative },
  // visits, and events attended
  { re: new RegExp(String.raw`^(?:(?:have|has|had|just|recently|finally|once) )*(?:visited|went to|been to|traveled to|travelled to|flew to|drove to|took a trip to|went on a trip to|went back to|made it to) ${VISIT_OBJECT}`, 'u'), build: visit },
  // "Omar visited me": a visit to the speaker.
  { re: /^(?:(?:have|has|had|just|recently|finally) )*(?:visited|came to see|came over to see) (?:me|us)\b/, build: (_m, c) => one('visited', c.owner, c) },
  // health, education, habits, feats
  { re: new RegExp(String.raw`^${BE} (?:severely |very |mildly |deathly )?allergic to ${OBJ}`, 'i'), build: (m, c) => one('allergic_to', m[1], c) },
  { re: new RegExp(String.raw`^(?:(?:have|has|just|recently|finally) )*graduated from ${OBJ}`, 'i'), build: (m, c) => one('graduated_from', m[1], c, { cutPrepositions: true }) },
  { re: new RegExp(String.raw`^(?:(?:am|is|are) )?(?:listen|listens|listening) to ${OBJ}`, 'i'), build: (m, c) => one('listens_to', m[1], c) },
  { re: /^(?:(?:have|has|just|finally) )*(?:ran|run|completed|finished) (?:in )?(?:the |a |an |my first |my )?((?:[\w'-]+ ){0,3}(?:marathon|half marathon|half|race|10k|5k|triathlon|ultra|ultramarathon))\b/i, build: (m, c) => one('ran', m[1], c) },
  // plans
  { re: new RegExp(String.raw`^(?:am|is|are) (?:going|planning|hoping|aiming|intending|about|thinking of|thinking about|considering) (?:to |on )?${OBJ}`, 'i'), build: plans },
  { re: new RegExp(String.raw`^(?:plan|plans|planned|intend|intends|aim|aims|hope|hopes|want|wants|will|shall|decided|have decided|has decided) (?:to |on )?${OBJ}`, 'i'), build: plans },
];

/** Adverbs and hedges that qualify a claim without changing it ("really love", "am still a nurse"). */
const ADVERBS = String.raw`(?:really|also|just|still|currently|now|totally|absolutely|definitely|actually|truly|honestly|personally|always|seriously|kinda|kind of|sort of|so|even|both|all|literally|usually|mostly|secretly|genuinely|quite|pretty|rather|fairly|very|indeed|officially|already|originally)`;
/** Adverbs stripped before matching. */
const LEADING_ADVERBS = new RegExp(String.raw`^(?:${ADVERBS}\s+)+`, 'i');
/** Adverbs between an auxiliary and the rest ("have also been to", "am actually based in"). */
const AUX_ADVERBS = new RegExp(String.raw`^((?:am|is|are|was|were|have|has|had|will|would|do|does|did)(?: be| been)?)\s+(?:${ADVERBS}\s+)+`, 'i');

/** The predicate part without the adverbs that do not change the claim. */
export function withoutAdverbs(rest: string): string {
  return rest.replace(LEADING_ADVERBS, '').replace(AUX_ADVERBS, '$1 ').trim();
}

/** The predicates recognised in the predicate part of a clause (empty when none matches). */
export function matchPredicates(rest: string, ctx: PatternContext): PredicateMatch[] {
  const text = withoutAdverbs(rest);
  for (const p of PATTERNS) {
    const m = p.re.exec(text);
    if (!m) continue;
    const built = p.build(m, ctx);
    if (built.length > 0) return built;
  }
  // "am a nurse (at X)": tried last so that "am a fan of" and friends win.
  // "will still be a designer" restates the present job; a bare "will be a doctor" is an ambition.
  const copula = /^(?:will|shall) still be\b/i.test(rest.trim()) ? String.raw`(?:am|is|will be|shall be)` : String.raw`(?:am|is)`;
  const job = new RegExp(String.raw`^${copula} (?:a|an) ${OBJ}`, 'i').exec(text);
  if (job) return jobAt(job, ctx);
  return [];
}
