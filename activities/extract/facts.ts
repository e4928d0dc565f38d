/**
 * Atomic facts of one message (Mem0-style extraction without a model): each clause becomes at
 * most a few standalone third-person facts, with a subject-predicate-object triple where a
 * pattern recognises one, preferences, dated events (relative dates resolved against the message
 * time), relatives, retractions ("I no longer…", "forget that I…", "I stopped…") and negations
 * (never a positive fact: a negated recognised triple becomes a retraction of that triple).
 */
import nlp from 'compromise';
import type { MemoryKind, Triple } from '../../core/model.js';
import { cleanClauseStart, splitClauses } from './clauses.js';
import { datePhrase, findDates, isoDate, type DateMention } from './dates.js';
import { contentTokens, lemma } from './keywords.js';
import { kindOfPredicate, matchPredicates, withoutAdverbs, type PredicateMatch } from './patterns.js';
import {
  asSentence,
  conjugateThirdPerson,
  replaceFirstPersonPlural,
  replaceFirstPersonPronouns,
} from './person.js';
import { describeTriple, type Polarity } from './phrasing.js';
import { RELATION_PATTERN, relationOf, relationPredicate, singularRelation } from './relations.js';
import { NAME, isName, parseSubject, type Subject } from './subjects.js';
import { cleanObject } from './objects.js';

/** A fact proposed by the extractor, before ids, entities and importance are attached. */
export interface FactDraft {
  readonly kind: MemoryKind;
  readonly text: string;
  readonly triple: Triple | null;
  readonly retraction: boolean;
  /** A resolved date, or the message time. */
  readonly validFrom: number;
  /** True when the clause carried a date that was resolved. */
  readonly dated: boolean;
  /** Names the fact is about: its subject (the speaker for first-person facts) and named objects. */
  readonly about: readonly string[];
  /** True when the fact is about the speaker or the speaker's relatives. */
  readonly own: boolean;
}

/** What the extractor needs to know about the message. */
export interface FactContext {
  /** Display name that first person resolves to. */
  readonly speaker: string;
  /** World time of the message, ms since epoch: relative dates resolve against it. */
  readonly refMs: number;
  /** The person last named earlier in the session ("She lives in Leeds" after "Priya got engaged"). */
  readonly lastNamed?: string | null;
}

/** Upper bound on facts from one message (a wall of text is summarised, not atomised). */
export const MAX_FACTS_PER_MESSAGE = 16;

const FORGET_PREFIX =
  /^(?:please\s+)?(?:forget|disregard|ignore|scratch|delete|remove|unlearn)\s+(?:the fact\s+|about the fact\s+)?(?:that|what I said about|about)\s+/i;
/** Modal openings: hypotheticals, not facts ("I would…", "I might…"), except stated wishes. */
const HYPOTHETICAL = /^(?:would|could|might|should|may|must|ought)\b(?! (?:love|like) to\b)/i;
/** Openings of small talk about the conversation itself rather than the speaker's life. */
const CHATTER =
  /^(?:think|thought|guess|know|knew|mean|hope|wish|bet|agree|feel|felt|wonder|wondered|suppose|believe|see|saw that|understand|remember|forgot|appreciate|hear|heard|say|said|tell|told|ask|asked|thank|get it|got it|love (?:that|it|this|how|the way)|like (?:that|it|this|how)|am (?:so |really |very |super |just )?(?:glad|happy|sorry|excited|proud|thrilled|grateful|thankful|sure|afraid|curious|impressed|jealous|amazed|touched|moved)|was (?:so |really |very |just )?(?:glad|happy|sorry|excited|proud|thrilled|grateful|thankful|curious|impressed|touched|moved)|cannot wait|can not wait|will (?:do|try|keep)|totally|absolutely|completely|agree)\b/i;
/** A negation inside the predicate part. */
const NEGATION = /\b(?:not|never|no)\b/i;

/** Present or future tense with no past marker: a bare weekday ("on Sunday") then lies ahead. */
const FORWARD = /\b(?:will|shall|going to|am|is|are|start|starts|plan|plans|planning)\b/i;
const PAST = /\b(?:was|were|did|had|went|got|came|ran|met|saw|took|turned|\w+ed)\b/i;

/** True when the clause speaks of the present or the future, so that ambiguous dates resolve forward. */
function forwardLooking(clause: string): boolean {
  return FORWARD.test(clause) && !PAST.test(clause);
}

/** The infinitive of a gerund ("hating" → "hate"), or null when compromise does not read it as a verb. */
function infinitiveOf(gerund: string): string | null {
  const verbs = nlp(`I am ${gerund}`).verbs();
  const inf = (verbs as unknown as { toInfinitive(): { text(): string } }).toInfinitive().text();
  const word = inf.split(/\s+/).pop() ?? '';
  return /^[a-z]+$/i.test(word) && word !== gerund ? word : null;
}

/** Statements about the conversation itself ("I posted that by mistake"): never a fact about the speaker. */
const META = /\b(?:by mistake|by accident|accidentally|wrong chat|wrong thread|typo)\b|^(?:\w+ ){0,2}(?:posted|typed|wrote|sent|said|meant|did|do|does|done) (?:it|that|this|them|those)\b/i;

/** Removes the clause's negation so that the positive pattern can be matched. */
function stripNegation(rest: string): string {
  return rest
    .replace(/^(?:do|does|did) not\s+/i, '')
    .replace(/\b(am|is|are|was|were|have|has|had|will|would|can|could)\s+(?:not|never)\b/i, '$1')
    .replace(/\bnever\s+/i, '')
    .replace(/\b(have|has|had)\s+no\b/i, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Cuts a date mention out of a clause; reports whether it followed "since". */
function removeDate(clause: string, d: DateMention): { text: string; since: boolean } {
  let left = clause.slice(0, d.index);
  // "last week's game" → "game"
  const right = clause.slice(d.index + d.text.length).replace(/^'s\b/, '');
  let since = /^since\b/i.test(d.text.trim());
  const dangling = /\s*\b(since|on|in|at|during|by|from|around|about)\s*$/i.exec(left);
  if (dangling) {
    since = since || dangling[1]?.toLowerCase() === 'since';
    left = left.slice(0, dangling.index);
  }
  const text = `${left} ${right}`
    .replace(/\s+([,.!?;:])/g, '$1')
    .replace(/,\s*,/g, ',')
    .replace(/\s+/g, ' ')
    .replace(/[\s,]+$/, '')
    .trim();
  return { text: cleanClauseStart(text), since };
}

/** The date as it is written into a fact ("on 2023-05-09", "since 2019"). */
function phraseOf(d: DateMention, since: boolean): string {
  if (!since) return datePhrase(d);
  const iso = isoDate(d.at);
  if (d.precision === 'year') return `since ${iso.slice(0, 4)}`;
  if (d.precision === 'month') return `since ${iso.slice(0, 7)}`;
  return `since ${iso}`;
}

/** The clause rewritten as a third-person sentence about its subject. */
function rewrite(subject: Subject, rest: string, speaker: string): string {
  let sentence: string;
  if (subject.kind === 'first') sentence = `${subject.phrase} ${conjugateThirdPerson(rest)}`;
  else if (subject.kind === 'we') sentence = replaceFirstPersonPlural(`${subject.phrase} ${rest}`, speaker);
  else sentence = `${subject.phrase} ${rest}`;
  return replaceFirstPersonPronouns(sentence, speaker);
}

/** Appends the date phrase to a sentence ("Caroline went to a support group" + "on 2023-05-09"). */
function withDate(sentence: string, phrase: string | null): string {
  if (phrase === null) return asSentence(sentence);
  return asSentence(`${sentence.replace(/[\s,;:.!?]+$/, '')} ${phrase}`);
}

/** "my favourite food is pizza", "pizza is my favourite food", "Melanie's favourite book is …". */
function favourite(
  clause: string,
  speaker: string,
): { owner: string; thing: string; raw: string; polarity: Polarity } | null {
  const thingRe = String.raw`(?:absolute |all-time |all time |current )?favourite ([\p{L}]+(?: [\p{L}]+){0,2}?)`;
  let m = new RegExp(String.raw`^(?:[Mm]y|(${NAME})'s) ${thingRe} (?:is|are|has to be|would be|will always be) (.+)$`, 'u').exec(clause);
  if (m) {
    const owner = m[1] === undefined ? speaker : m[1];
    if (m[1] !== undefined && !isName(m[1])) return null;
    return { owner, thing: m[2] as string, raw: m[3] as string, polarity: 'positive' };
  }
  m = new RegExp(String.raw`^(.+?) (?:is|are|was) (?:definitely |probably |still |also |really )?(no longer |not )?(?:[Mm]y|(${NAME})'s) ${thingRe}$`, 'u').exec(clause);
  if (m) {
    const owner = m[3] === undefined ? speaker : m[3];
    const polarity: Polarity = m[2] === undefined ? 'positive' : m[2].startsWith('no') ? 'no-longer' : 'not';
    return { owner, thing: m[4] as string, raw: m[1] as string, polarity };
  }
  return null;
}

/** favourite_<thing> with the thing lower-cased, singular and snake-cased ("movies" → favourite_movie). */
export function favouritePredicate(thing: string): string {
  const t = thing.toLowerCase().trim();
  if (/^(?:thing to do|things to do|activity|activities|pastime|hobby|hobbies)$/.test(t)) return 'favourite_activity';
  const words = t.split(/\s+/).map((w, i, all) => (i === all.length - 1 ? lemma(w) : w));
  return `favourite_${words.join('_')}`;
}

/** "my sister Anna", "Melanie's husband John": relation facts found anywhere in a clause. */
function relativesIn(clause: string, speaker: string): Array<{ triple: Triple; about: string[] }> {
  const out: Array<{ triple: Triple; about: string[] }> = [];
  const mine = new RegExp(String.raw`\b[Mm]y (${RELATION_PATTERN}),? (?:(?:named|called) )?(${NAME})`, 'gu');
  for (const m of clause.matchAll(mine)) {
    const rel = relationOf(m[1] as string);
    const name = (m[2] as string).split(' ')[0] as string;
    if (!rel || !isName(name)) continue;
    const object = rel.pet ? `${rel.canonical} named ${name}` : name;
    out.push({ triple: { subject: speaker, predicate: relationPredicate(rel), object }, about: [speaker, name] });
  }
  const theirs = new RegExp(String.raw`\b(${NAME})'s (${RELATION_PATTERN}),? (?:(?:named|called) )?(${NAME})`, 'gu');
  for (const m of clause.matchAll(theirs)) {
    const rel = relationOf(m[2] as string);
    const owner = m[1] as string;
    const name = (m[3] as string).split(' ')[0] as string;
    if (!rel || !isName(owner) || !isName(name)) continue;
    const object = rel.pet ? `${rel.canonical} named ${name}` : name;
    out.push({ triple: { subject: owner, predicate: relationPredicate(rel), object }, about: [owner, name] });
  }
  return out;
}

/** True when the predicate part starts with a verb (for third-person events). */
function startsWithVerb(rest: string): boolean {
  const doc = nlp(`She ${rest}`);
  const terms = doc.json() as Array<{ terms: Array<{ tags: string[] }> }>;
  const tags = terms[0]?.terms.slice(1, 3).flatMap((t) => t.tags) ?? [];
  return tags.includes('Verb');
}

/** Names (capitalised, not sentence openers) in an object, for entities. */
function namesIn(text: string): string[] {
  return [...text.matchAll(new RegExp(NAME, 'gu'))]
    .map((m) => m[0].replace(/'s?$/, ''))
    .filter((n) => isName(n));
}

/** Lower-cases a clause-initial capital that only marks the start of a sentence ("Pottery" → "pottery"). */
function unCapitalise(phrase: string): string {
  const first = phrase.split(' ')[0] ?? '';
  if (!/^[A-Z][a-z]+$/.test(first)) return phrase;
  const doc = nlp(first);
  if (doc.has('(#ProperNoun|#Person|#Place|#Organization)')) return phrase;
  return `${first.toLowerCase()}${phrase.slice(first.length)}`;
}

/** All facts of one message text, in order, deduplicated. */
export function extractFacts(text: string, ctx: FactContext): FactDraft[] {
  const { speaker, refMs } = ctx;
  const out: FactDraft[] = [];
  const seen = new Set<string>();
  const push = (f: FactDraft): void => {
    const key = f.triple
      ? `${f.triple.subject}|${f.triple.predicate}|${f.triple.object}|${f.retraction}`.toLowerCase()
      : f.text.toLowerCase();
    if (seen.has(key) || out.length >= MAX_FACTS_PER_MESSAGE) return;
    // "My name is Alice" said by Alice teaches nothing the speaker attribution does not already say.
    if (f.triple?.predicate === 'name' && f.triple.object.toLowerCase() === f.triple.subject.toLowerCase()) return;
    seen.add(key);
    out.push(f);
  };

  let previous = null as Subject | null;
  let carried = null as { date: DateMention; phrase: string } | null;
  let lastNamed: string | null = ctx.lastNamed ?? null;
  for (const clause of splitClauses(text)) {
    if (clause.question || clause.hypothetical) {
      previous = null;
      continue;
    }
    let t = clause.text;
    let forget = false;
    const fp = FORGET_PREFIX.exec(t);
    if (fp) {
      forget = true;
      t = t.slice(fp[0].length);
    }
    // "Forget what I said about hating mushrooms": the gerund is the speaker's own claim.
    const gerund = forget ? /^(\w+ing)\b(.*)$/s.exec(t) : null;
    if (gerund) {
      const inf = infinitiveOf(gerund[1] as string);
      if (inf) t = `I ${inf}${gerund[2] as string}`;
    }
    let date: DateMention | undefined = findDates(t, refMs, { forward: forwardLooking(t) })[0];
    let phrase: string | null = null;
    if (date) {
      const removed = removeDate(t, date);
      t = removed.text;
      phrase = phraseOf(date, removed.since);
    } else if (carried) {
      ({ date, phrase } = carried);
    }
    carried = null;
    // "Last Tuesday, I went…": a clause that is only a date dates the next one.
    const carry = (): void => {
      if (date && phrase !== null && clause.text !== t) carried = { date, phrase };
    };
    if (t.length === 0) {
      carry();
      continue;
    }
    const validFrom = date ? date.at : refMs;
    const dated = date !== undefined;

    for (const r of relativesIn(t, speaker)) {
      push({
        kind: 'fact',
        text: describeTriple(r.triple, 'positive'),
        triple: r.triple,
        retraction: false,
        validFrom: refMs,
        dated: false,
        about: r.about,
        own: r.triple.subject === speaker,
      });
    }

    const fav = favourite(t, speaker);
    if (fav) {
      const o = cleanObject(unCapitalise(fav.raw), { owner: speaker });
      if (o) {
        const triple: Triple = { subject: fav.owner, predicate: favouritePredicate(fav.thing), object: o.object };
        const polarity: Polarity = forget ? 'no-longer' : fav.polarity;
        push({
          kind: 'preference',
          text: withDate(describeTriple(triple, polarity, o.display), phrase),
          triple,
          retraction: polarity !== 'positive',
          validFrom,
          dated,
          about: [fav.owner, ...namesIn(o.object)],
          own: fav.owner === speaker,
        });
      }
      previous = null;
      continue;
    }
    const myName = /^[Mm]y name is (\S+(?: [A-Z]\S*)?)/u.exec(t);
    if (myName) {
      const o = cleanObject(myName[1] as string, { owner: speaker });
      if (o) {
        const triple: Triple = { subject: speaker, predicate: 'name', object: o.object };
        push({ kind: 'fact', text: describeTriple(triple, forget ? 'no-longer' : 'positive', o.display), triple, retraction: forget, validFrom, dated, about: [speaker, o.object], own: true });
      }
      continue;
    }

    const inherited: Subject | null = clause.inherit ? previous : null;
    const subject: Subject | null = parseSubject(t, speaker, lastNamed) ?? (inherited ? { ...inherited, rest: t } : null);
    if (!subject) {
      previous = null;
      if (t.split(' ').length <= 2) carry();
      continue;
    }
    previous = subject;
    if (subject.kind === 'relative' || subject.kind === 'named') lastNamed = subject.triple;

    let rest = subject.rest.trim();
    if (HYPOTHETICAL.test(rest)) continue;

    // Polarity: retraction wording first, then plain negation.
    let polarity: Polarity = forget ? 'no-longer' : 'positive';
    let matchRest = rest;
    if (/\bno longer\b/i.test(matchRest)) {
      matchRest = matchRest.replace(/\s*\bno longer\b\s*/i, ' ').trim();
      polarity = 'no-longer';
    }
    if (/\b(?:anymore|any more)\b/i.test(matchRest)) {
      matchRest = stripNegation(matchRest.replace(/\s*\b(?:anymore|any more)\b/i, '')).trim();
      polarity = 'no-longer';
    }
    const stopped = /^(?:(?:just|recently|finally|have|has)\s+)*(?:stopped|quit|gave up)\s+(?=\w+ing\b)/i.exec(matchRest);
    if (stopped) {
      matchRest = matchRest.slice(stopped[0].length);
      polarity = 'no-longer';
    }

    // "My new boss is Rachel Green", "Maya's dog is called Rex": a name for a relative is a relation fact.
    const naming = subject.relative ? /^(?:is|'s) ((?:called|named) )?(.+)$/u.exec(matchRest) : null;
    if (naming && subject.relative) {
      const name = (naming[2] as string).replace(/[\s,.!]+$/, '');
      // Without "called", "is X" must read as a person's name ("my mom is French" names no one).
      const named = naming[1] !== undefined || nlp(name).has('#Person');
      if (named && new RegExp(String.raw`^${NAME}$`, 'u').test(name) && isName(name)) {
        const { owner, relation } = subject.relative;
        const object = relation.pet ? `${singularRelation(relation.canonical)} named ${name}` : name;
        const triple: Triple = { subject: owner, predicate: relationPredicate(relation), object };
        push({
          kind: 'fact',
          text: withDate(describeTriple(triple, polarity), phrase),
          triple,
          retraction: polarity !== 'positive',
          validFrom,
          dated,
          about: [owner, name],
          own: subject.own,
        });
        lastNamed = name;
        continue;
      }
    }

    let matches: PredicateMatch[] = matchPredicates(matchRest, { owner: speaker });
    // "Ravi is running the Hackney Half on Sunday": a progressive with a date ahead is a plan.
    if (matches.length === 0 && polarity === 'positive' && date && date.at > refMs) {
      const prog = /^(?:am|is|are) (\w+ing) (.+)$/i.exec(withoutAdverbs(matchRest));
      const inf = prog ? infinitiveOf(prog[1] as string) : null;
      if (prog && inf) matches = matchPredicates(`plan to ${inf} ${prog[2] as string}`, { owner: speaker });
    }
    if (matches.length === 0 && polarity === 'positive' && NEGATION.test(matchRest)) {
      const positive = stripNegation(matchRest);
      if (positive !== matchRest) {
        // "I won't give up" negates an intention, not a recorded plan: no retraction for plans.
        matches = matchPredicates(positive, { owner: speaker }).filter((m) => m.predicate !== 'plans');
        if (matches.length > 0) polarity = 'not';
      }
    }

    if (matches.length > 0) {
      for (const m of matches) {
        const triple: Triple = { subject: subject.triple, predicate: m.predicate, object: m.object };
        const retraction = polarity !== 'positive' || m.retract;
        let factText: string;
        if (retraction) {
          factText = withDate(describeTriple(triple, polarity === 'positive' ? 'no-longer' : polarity, m.display), phrase);
        } else if (matches.length === 1) {
          factText = withDate(rewrite(subject, rest, speaker), phrase);
        } else {
          factText = withDate(describeTriple({ ...triple, subject: subject.phrase }, 'positive', m.display), phrase);
        }
        push({
          kind: kindOfPredicate(m.predicate),
          text: factText,
          triple,
          retraction,
          validFrom,
          dated,
          about: [...subject.about, ...namesIn(m.object)],
          own: subject.own,
        });
        // "Niamh and I got engaged": the statement holds for the partner too.
        if (subject.partner !== undefined) {
          const theirs: Triple = { ...triple, subject: subject.partner };
          push({
            kind: kindOfPredicate(m.predicate),
            text: withDate(describeTriple(theirs, retraction ? (polarity === 'positive' ? 'no-longer' : polarity) : 'positive', m.display), phrase),
            triple: theirs,
            retraction,
            validFrom,
            dated,
            about: [subject.partner, ...namesIn(m.object)],
            own: false,
          });
        }
      }
      if (subject.partner !== undefined) lastNamed = subject.partner;
      continue;
    }
    if (forget) continue;

    // No recognised predicate: a dated event, or a plain first-person fact worth keeping.
    if (CHATTER.test(rest) || META.test(rest) || /\byou(?:r|rs)?\b/i.test(rest)) continue;
    const content = contentTokens(rest).length;
    if (dated) {
      if (content < 1 || (!subject.own && !startsWithVerb(rest))) continue;
      push({
        kind: 'event',
        text: withDate(rewrite(subject, rest, speaker), phrase),
        triple: null,
        retraction: false,
        validFrom,
        dated,
        about: [...subject.about, ...namesIn(rest)],
        own: subject.own,
      });
      continue;
    }
    if (!subject.own || content < 2 || clause.subordinate) continue;
    rest = rest.replace(/\s+/g, ' ');
    push({
      kind: 'fact',
      text: asSentence(rewrite(subject, rest, speaker)),
      triple: null,
      retraction: false,
      validFrom,
      dated,
      about: [...subject.about, ...namesIn(rest)],
      own: true,
    });
  }
  return out;
}

/** The person a later "he"/"she" most plausibly means after this text: the last one it says something about. */
export function lastPersonNamed(text: string, speaker: string): string | null {
  const facts = extractFacts(text, { speaker, refMs: 0 });
  for (let i = facts.length - 1; i >= 0; i--) {
    const t = facts[i]?.triple;
    if (!t) continue;
    if (t.subject !== speaker) return t.subject;
    if (t.predicate.startsWith('has_') && t.predicate !== 'has_pet') return t.object;
  }
  return null;
}
