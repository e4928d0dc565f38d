/**
 * LLM extraction of one message: the prompt, the output schema (JSON schema for the model, zod for
 * validation), and the pure conversion of a validated answer into fact/preference/event
 * candidates. Ids, sources, validFrom and importance follow activities/extract/extract.ts: facts
 * of a message are memoryIdOf(scope, sourceEventId, 'fact', 1..n) and carry the episode's sources,
 * so an LLM fact replaces the offline fact at the same slot on a retry, never adds a second one.
 */
import { z } from 'zod';
import { memoryIdOf } from '../../core/ids.js';
import type { MemoryKind, Triple } from '../../core/model.js';
import type { CandidateUnit } from '../../core/pipeline.js';
import type { LlmRequest } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { MAX_ENTITIES, normaliseEntity } from '../extract/entities.js';
import { MAX_FACTS_PER_MESSAGE } from '../extract/facts.js';
import { keywordsOf, lemma, tokenize } from '../extract/keywords.js';
import { kindOfPredicate } from '../extract/patterns.js';
import { describeTriple } from '../extract/phrasing.js';
import { asSentence, conjugateThirdPerson, replaceFirstPersonPronouns } from '../extract/person.js';
import { isStopword } from '../extract/stopwords.js';
import { normaliseObject, normalisePredicate, normaliseSubject } from './normalise.js';

/** Name of the extraction output schema. */
export const EXTRACTION_SCHEMA_NAME = 'memory_extraction';

/** The extraction instructions (part of the prompt hash: change them and the hash changes). */
export const EXTRACTION_SYSTEM_PROMPT = [
  'You extract long-term memories about people from one chat message, for an assistant that will talk to them again later.',
  'Return a JSON object {"facts": [...]}; each fact is one atomic statement worth remembering.',
  'Rules:',
  '- text: a standalone sentence in the third person that names people: never "I", "me", "my", "you"; write the speaker\'s name instead.',
  '- subject: who the fact is about. First person is the speaker (use the speaker\'s name). An unnamed relative of the speaker is "<Speaker>\'s <relation>" (e.g. "Alice\'s sister"); a named person is their name.',
  '- predicate: snake_case. Use one of these when it fits: lives_in, lived_in, from, works_at, worked_at, job_title, studies_at, studies, name, age, relationship_status, nationality, pronouns, birthday, likes, dislikes, prefers, favourite_<thing> (e.g. favourite_food), visited, plans, has_pet, has_<relation> (e.g. has_sister, with the relative\'s name as object). Otherwise a short snake_case verb phrase. Use null when the fact has no clear subject-predicate-object form.',
  '- object: the value, without a leading article (e.g. "Boston", "nurse", "pottery", "32"); null when predicate is null.',
  '- kind: "preference" for likes, dislikes, preferences and favourites; "event" for something that happened or is planned at a particular time; otherwise "fact".',
  '- date: for an event, the day it happened or will happen as YYYY-MM-DD, resolving relative dates ("yesterday", "last Tuesday", "next month", "two years ago") against the message time; null otherwise.',
  '- retraction: true when the speaker withdraws or negates something ("I no longer live in Boston", "forget that I like jazz", "I quit my job at Acme"); subject, predicate and object then name what is withdrawn, and text says it is no longer true. Otherwise false.',
  '- entities: people, places, organisations and things the fact names.',
  '- keywords: up to 8 lower-case content words.',
  '- importance: 0 to 1, how useful the fact is in future conversations (stable personal facts high, passing remarks low).',
  'Skip greetings, small talk, questions, hypotheticals, and statements about the assistant or the conversation. Never invent anything the message does not say. Return {"facts": []} when nothing is worth remembering.',
  'Answer with the JSON object only.',
].join('\n');

const nullableString = { type: ['string', 'null'] } as const;
const stringArray = { type: 'array', items: { type: 'string' } } as const;

/** JSON schema of the extraction output (strict-mode compatible: every key required, no extras). */
export const EXTRACTION_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  required: ['facts'],
  properties: {
    facts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['text', 'subject', 'predicate', 'object', 'kind', 'date', 'entities', 'keywords', 'importance', 'retraction'],
        properties: {
          text: { type: 'string' },
          subject: { type: 'string' },
          predicate: nullableString,
          object: nullableString,
          kind: { type: 'string', enum: ['fact', 'preference', 'event'] },
          date: { ...nullableString, description: 'YYYY-MM-DD, or null' },
          entities: stringArray,
          keywords: stringArray,
          importance: { type: 'number', description: '0 to 1' },
          retraction: { type: 'boolean' },
        },
      },
    },
  },
};

/** A calendar date (YYYY, YYYY-MM, YYYY-MM-DD) or an ISO date-time. */
const DATE = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)?)?$/;

/** The world time a model's date names; date-only values are taken at 12:00 UTC, as chrono does. */
export function dateMsOf(date: string): number | null {
  if (!DATE.test(date)) return null;
  const [y, m, d] = date.slice(0, 10).split('-').map(Number);
  if (date.length > 10) {
    // A date-time without a zone is read as UTC, never as the machine's local time.
    const ms = Date.parse(/(?:Z|[+-]\d{2}:?\d{2})$/.test(date) ? date : `${date}Z`);
    return Number.isFinite(ms) ? ms : null;
  }
  if (m === undefined) return Date.UTC(y as number, 0, 1);
  if (m < 1 || m > 12) return null;
  if (d === undefined) return Date.UTC(y as number, m - 1, 1);
  const ms = Date.UTC(y as number, m - 1, d, 12);
  // Reject dates that roll over ("2023-02-30").
  return new Date(ms).getUTCDate() === d ? ms : null;
}

const LlmFact = z.object({
  text: z.string().trim().min(1).max(1000),
  subject: z.string().trim().min(1).max(200),
  predicate: z.string().trim().max(100).nullable(),
  object: z.string().trim().max(300).nullable(),
  kind: z.enum(['fact', 'preference', 'event']),
  date: z
    .string()
    .trim()
    .nullable()
    .refine((d) => d === null || d === '' || dateMsOf(d) !== null, 'expected a date as YYYY-MM-DD, or null'),
  entities: z.array(z.string().max(200)).max(50),
  keywords: z.array(z.string().max(100)).max(50),
  importance: z.number().min(0).max(1),
  retraction: z.boolean(),
});

/** Validates a model's extraction answer. */
export const ExtractionOutputSchema = z.object({ facts: z.array(LlmFact).max(50) });
export type ExtractionOutput = z.infer<typeof ExtractionOutputSchema>;

/** The message an extraction request is about. */
export interface ExtractionMessage {
  readonly speaker: string;
  readonly role: string;
  readonly text: string;
  /** World time of the message: relative dates resolve against it. */
  readonly occurredAt: number;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The chat request extracting the memories of one message. */
export function extractionRequest(m: ExtractionMessage): LlmRequest {
  const at = new Date(m.occurredAt);
  return {
    messages: [
      { role: 'system', content: EXTRACTION_SYSTEM_PROMPT },
      {
        role: 'user',
        content: [
          `Speaker: ${m.speaker} (role: ${m.role})`,
          `Message time: ${at.toISOString()} (${WEEKDAYS[at.getUTCDay()] ?? ''})`,
          'Message:',
          m.text,
        ].join('\n'),
      },
    ],
    schemaName: EXTRACTION_SCHEMA_NAME,
    schema: EXTRACTION_JSON_SCHEMA,
    maxTokens: 2000,
  };
}

/** Lowest importance of a fact: facts always outrank episodes (activities/extract/importance.ts). */
const MIN_FACT_IMPORTANCE = 0.55;

/** Predicates of the offline vocabulary: their kind comes from the predicate, not the model. */
function knownPredicate(p: string): boolean {
  return (
    p.startsWith('favourite_') ||
    p.startsWith('has_') ||
    /^(?:lives_in|lived_in|from|works_at|worked_at|job_title|studies_at|studies|name|age|relationship_status|nationality|pronouns|birthday|likes|dislikes|prefers|visited|plans)$/.test(p)
  );
}

/** The model's sentence in the third person, should it have slipped into the first ("I live…"). */
function thirdPerson(text: string, speaker: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  const first = /^I\s+(?!am\b|have\b|do\b)(.+)$/.exec(t);
  return asSentence(replaceFirstPersonPronouns(first ? `${speaker} ${conjugateThirdPerson(first[1] as string)}` : t, speaker));
}

function keywordsFrom(raw: readonly string[], text: string, max: number, speaker: string): string[] {
  const skip = new Set(tokenize(speaker));
  const out: string[] = [];
  for (const tok of raw.flatMap((k) => tokenize(k))) {
    const k = lemma(tok);
    if (k.length < 2 || isStopword(k) || skip.has(tok) || out.includes(k)) continue;
    out.push(k);
    if (out.length >= max) break;
  }
  return out.length > 0 ? out : keywordsOf(text, max, [speaker]);
}

function entitiesFrom(raw: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const e = normaliseEntity(r);
    if (e === null || seen.has(e.toLowerCase())) continue;
    seen.add(e.toLowerCase());
    out.push(e);
    if (out.length >= MAX_ENTITIES) break;
  }
  return out;
}

/**
 * The fact/preference/event candidates of one message from a validated model answer. `episode`
 * is the message's offline turn unit: it supplies the source event, sources, role, speaker and
 * message time. Facts are deduplicated like the offline extractor's and capped at its maximum.
 */
export function llmFactUnits(
  scope: Scope,
  episode: CandidateUnit,
  output: ExtractionOutput,
  producedBy: { readonly model: string; readonly promptHash: string },
  maxKeywords = 8,
): CandidateUnit[] {
  const speaker = episode.speaker;
  const seen = new Set<string>();
  const units: CandidateUnit[] = [];
  for (const f of output.facts) {
    if (units.length >= MAX_FACTS_PER_MESSAGE) break;
    const subject = normaliseSubject(f.subject, speaker);
    const predicate = f.predicate ? normalisePredicate(f.predicate) : null;
    const object = predicate && f.object ? normaliseObject(f.object, speaker, predicate) : null;
    const triple: Triple | null = predicate && object ? { subject, predicate, object } : null;
    // "My name is Alice" said by Alice teaches nothing the speaker attribution does not already say.
    if (triple?.predicate === 'name' && triple.object.toLowerCase() === triple.subject.toLowerCase()) continue;
    const written = thirdPerson(f.text, speaker);
    const text = written || (triple ? describeTriple(triple, f.retraction ? 'no-longer' : 'positive') : '');
    if (text.length === 0) continue;
    const key = triple ? `${triple.subject}|${triple.predicate}|${triple.object}|${f.retraction}`.toLowerCase() : text.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const kind: MemoryKind = triple && knownPredicate(triple.predicate) ? kindOfPredicate(triple.predicate) : f.kind;
    const dated = f.date !== null && f.date !== '' ? dateMsOf(f.date) : null;
    units.push({
      id: memoryIdOf(scope, episode.sourceEventId, 'fact', units.length + 1),
      sourceEventId: episode.sourceEventId,
      kind,
      granularity: 'fact',
      text,
      triple,
      // A relative's subject ("Alice's sister") is about its owner, as offline.
      entities: entitiesFrom([subject.includes("'s ") ? (subject.split("'s ")[0] as string) : subject, ...f.entities]),
      keywords: keywordsFrom(f.keywords, text, maxKeywords, speaker),
      importance: Math.round(Math.min(1, Math.max(MIN_FACT_IMPORTANCE, f.importance)) * 1000) / 1000,
      validFrom: dated ?? episode.validFrom,
      sources: episode.sources,
      role: episode.role,
      speaker,
      retraction: f.retraction,
      producedBy: { model: producedBy.model, promptHash: producedBy.promptHash },
    });
  }
  return units;
}
