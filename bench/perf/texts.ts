/**
 * Realistic, seeded text for the performance benchmark: chat conversations (user and assistant
 * turns, facts, plans, small talk, the occasional correction), memory-like statements for filling
 * a store directly, and search questions. Slot fillers are many, so texts are mostly distinct and
 * the embedding cache does not flatter the pipeline. Pure: the same seed gives the same text.
 */
import type { ConversationEvent } from '../../core/model.js';
import { seededRng, type Rng } from '../../core/random.js';

const CITIES = [
  'Lisbon', 'Oslo', 'Berlin', 'Madrid', 'Dublin', 'Vienna', 'Prague', 'Warsaw', 'Athens', 'Helsinki', 'Kyoto', 'Toronto',
  'Lyon', 'Porto', 'Seville', 'Krakow', 'Munich', 'Zurich', 'Bergen', 'Tallinn', 'Riga', 'Vilnius', 'Ghent', 'Utrecht',
];
const EMPLOYERS = [
  'Siemens', 'Nokia', 'Spotify', 'Airbus', 'Philips', 'Ericsson', 'Zalando', 'Bosch', 'a small bakery', 'the city library',
  'a design studio', 'a hospital', 'a logistics startup', 'the university', 'a bike shop', 'a law firm', 'an architecture office',
];
const JOBS = [
  'a nurse', 'an engineer', 'a teacher', 'a data analyst', 'a chef', 'a product designer', 'a pharmacist', 'a translator',
  'an accountant', 'a carpenter', 'a journalist', 'a physiotherapist', 'a pilot', 'a software developer', 'a vet',
];
const FOODS = [
  'ramen', 'paella', 'sushi', 'pierogi', 'moussaka', 'risotto', 'tacos', 'falafel', 'pho', 'dumplings', 'lasagne', 'curry',
  'shakshuka', 'goulash', 'bibimbap', 'croissants', 'green tea', 'espresso', 'dark chocolate', 'lentil soup',
];
const HOBBIES = [
  'hiking', 'chess', 'climbing', 'painting', 'cycling', 'baking', 'surfing', 'photography', 'pottery', 'running', 'gardening',
  'knitting', 'bird watching', 'kayaking', 'yoga', 'salsa dancing', 'woodworking', 'playing the cello', 'board games',
];
const PEOPLE = ['Emma', 'Liam', 'Sofia', 'Noah', 'Mia', 'Lucas', 'Ava', 'Mateo', 'Ines', 'Jonas', 'Clara', 'Hugo', 'Nora', 'Felix'];
const RELATIONS = ['sister', 'brother', 'cousin', 'neighbour', 'colleague', 'best friend', 'mother', 'father', 'aunt', 'flatmate'];
const PETS = ['Pico', 'Luna', 'Max', 'Bella', 'Rocky', 'Mochi', 'Biscuit', 'Olive', 'Pepper', 'Ziggy'];
const ANIMALS = ['dog', 'cat', 'rabbit', 'parrot', 'tortoise', 'hamster'];
const BOOKS = ['Dune', 'Middlemarch', 'The Hobbit', 'Beloved', 'Stoner', 'Piranesi', 'Circe', 'Solaris', 'Persuasion', 'Ubik'];
const DAYS = ['last Saturday', 'yesterday', 'on Sunday', 'last week', 'two days ago', 'this morning', 'last month'];
const PLANS = ['next month', 'in June', 'next week', 'this summer', 'in two weeks', 'after Christmas', 'in the spring'];
const FEELINGS = ['exhausted', 'really happy', 'a bit anxious', 'proud', 'relieved', 'excited', 'nervous', 'calm'];
const SMALL_TALK = ['ok', 'haha', 'thanks!', 'sounds good', 'lol', 'hi there', 'good morning', 'sure', 'ok thanks', 'nice'];
const ASSISTANT = [
  'That sounds wonderful, {name}! How did it go?',
  'Thanks for telling me about {x}. Would you like some tips?',
  'Good luck with {x}! Let me know how it turns out.',
  'I will remember that you enjoy {x}.',
  'Congratulations on the news about {x}!',
  'What do you enjoy most about {x}?',
  'That must have been {feeling}. Do you want to talk about it?',
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** A first-person user message: a fact, preference, plan, event, feeling, question or small talk. */
export function userMessage(rng: Rng, name: string): string {
  const r = rng.next();
  if (r < 0.08) return `I live in ${pick(rng, CITIES)} now, close to the old ${pick(rng, ['harbour', 'market', 'station', 'cathedral', 'park'])}.`;
  if (r < 0.15) return `I work at ${pick(rng, EMPLOYERS)} as ${pick(rng, JOBS)}.`;
  if (r < 0.23) return `I love ${pick(rng, HOBBIES)} on weekends, especially with my ${pick(rng, RELATIONS)} ${pick(rng, PEOPLE)}.`;
  if (r < 0.29) return `My favourite food is ${pick(rng, FOODS)}, but I also like ${pick(rng, FOODS)}.`;
  if (r < 0.34) return `I have a ${pick(rng, ANIMALS)} named ${pick(rng, PETS)} who is ${2 + Math.floor(rng.next() * 12)} years old.`;
  if (r < 0.41) return `I am going to ${pick(rng, CITIES)} ${pick(rng, PLANS)} to visit my ${pick(rng, RELATIONS)}.`;
  if (r < 0.49) return `I went ${pick(rng, HOBBIES)} ${pick(rng, DAYS)} with ${pick(rng, PEOPLE)} and felt ${pick(rng, FEELINGS)}.`;
  if (r < 0.55) return `My ${pick(rng, RELATIONS)} ${pick(rng, PEOPLE)} is ${pick(rng, JOBS)} in ${pick(rng, CITIES)}.`;
  if (r < 0.6) return `I just finished reading ${pick(rng, BOOKS)} and now I want to read ${pick(rng, BOOKS)}.`;
  if (r < 0.64) return `I don't like ${pick(rng, FOODS)} anymore, I prefer ${pick(rng, FOODS)} these days.`;
  if (r < 0.69) return `${capitalise(pick(rng, DAYS))} ${name} cooked ${pick(rng, FOODS)} for ${pick(rng, PEOPLE)}'s birthday.`;
  if (r < 0.74) return `I have been feeling ${pick(rng, FEELINGS)} since I started ${pick(rng, HOBBIES)} ${pick(rng, DAYS)}.`;
  if (r < 0.79) return `Can you recommend something about ${pick(rng, HOBBIES)} near ${pick(rng, CITIES)}?`;
  if (r < 0.83) return `We adopted a ${pick(rng, ANIMALS)} ${pick(rng, DAYS)} and called it ${pick(rng, PETS)}.`;
  return pick(rng, SMALL_TALK);
}

/** An assistant reply that picks up a topic. */
export function assistantMessage(rng: Rng, name: string): string {
  return pick(rng, ASSISTANT)
    .replace('{name}', name)
    .replace('{x}', pick(rng, [...HOBBIES, ...CITIES, ...BOOKS]))
    .replace('{feeling}', pick(rng, FEELINGS));
}

export interface ConversationOptions {
  readonly tenantId?: string;
  readonly users: number;
  /** Messages per user (user and assistant turns together). */
  readonly messages: number;
  readonly seed: number;
  /** Share of turns written by the assistant (default 0.3). */
  readonly assistantShare?: number;
}

/** `users` users × `messages` messages in sessions of 6-12 turns, each session ending with SessionEnded. */
export function conversations(opts: ConversationOptions): ConversationEvent[] {
  const rng = seededRng(opts.seed);
  const tenantId = opts.tenantId ?? 'perf';
  const share = opts.assistantShare ?? 0.3;
  const events: ConversationEvent[] = [];
  const start = Date.parse('2024-01-01T09:00:00Z');
  for (let u = 0; u < opts.users; u++) {
    const userId = `user${u}`;
    const name = `${pick(rng, PEOPLE)}${u}`;
    let t = start + u * 3_600_000;
    let session = 0;
    let left = 6 + Math.floor(rng.next() * 7);
    for (let i = 0; i < opts.messages; i++) {
      const sessionId = `${userId}-s${session}`;
      const assistant = rng.next() < share;
      events.push({
        eventId: `${userId}-e${i}`,
        tenantId,
        userId,
        conversationId: `${userId}-chat`,
        sessionId,
        occurredAt: t,
        payload: {
          type: 'MessagePosted',
          messageId: `${userId}-m${i}`,
          role: assistant ? 'assistant' : 'user',
          speaker: assistant ? 'Assistant' : name,
          text: assistant ? assistantMessage(rng, name) : userMessage(rng, name),
          attachmentCaptions: [],
        },
      });
      t += 45_000 + Math.floor(rng.next() * 90_000);
      if (--left === 0 || i === opts.messages - 1) {
        events.push({ eventId: `${userId}-end${session}`, tenantId, userId, conversationId: `${userId}-chat`, sessionId, occurredAt: t, payload: { type: 'SessionEnded' } });
        session++;
        left = 6 + Math.floor(rng.next() * 7);
        t += 86_400_000 + Math.floor(rng.next() * 4 * 86_400_000);
      }
    }
  }
  return events;
}

/** A memory-like statement (a fact, a turn or a session line), for filling a store directly. */
export function memoryText(rng: Rng, name: string): string {
  const r = rng.next();
  if (r < 0.5) {
    const m = userMessage(rng, name);
    // Small talk makes no memory: draw a fact instead.
    return SMALL_TALK.includes(m) ? `${name} likes ${pick(rng, FOODS)}.` : `${name}: ${m}`;
  }
  if (r < 0.8) {
    const facts = [
      `${name} lives in ${pick(rng, CITIES)}.`,
      `${name} works at ${pick(rng, EMPLOYERS)}.`,
      `${name} is ${pick(rng, JOBS)}.`,
      `${name} enjoys ${pick(rng, HOBBIES)}.`,
      `${name}'s favourite food is ${pick(rng, FOODS)}.`,
      `${name} has a ${pick(rng, ANIMALS)} named ${pick(rng, PETS)}.`,
      `${name}'s ${pick(rng, RELATIONS)} is ${pick(rng, PEOPLE)}.`,
      `${name} plans to visit ${pick(rng, CITIES)} ${pick(rng, PLANS)}.`,
      `${name} read ${pick(rng, BOOKS)}.`,
    ];
    return pick(rng, facts);
  }
  return `In this session ${name} talked about ${pick(rng, HOBBIES)}, ${pick(rng, FOODS)} and a trip to ${pick(rng, CITIES)} with ${pick(rng, PEOPLE)}.`;
}

/** A search question of the kind an agent asks about a user. */
export function question(rng: Rng, name: string): string {
  const qs = [
    `Where does ${name} live?`,
    `Where does ${name} work?`,
    `What is ${name}'s job?`,
    `What does ${name} like to eat?`,
    `What hobbies does ${name} have?`,
    `Does ${name} have a pet?`,
    `When is ${name} going to ${pick(rng, CITIES)}?`,
    `Who is ${name}'s ${pick(rng, RELATIONS)}?`,
    `What did ${name} do ${pick(rng, DAYS)}?`,
    `Which book did ${name} read?`,
    `Does ${name} enjoy ${pick(rng, HOBBIES)}?`,
    `Has ${name} ever eaten ${pick(rng, FOODS)}?`,
    `How does ${name} feel about ${pick(rng, HOBBIES)}?`,
    `Who did ${name} go ${pick(rng, HOBBIES)} with?`,
  ];
  return pick(rng, qs);
}

/** `n` distinct questions (a counter breaks ties once the templates run out), seeded. */
export function questions(n: number, seed: number, name: string): string[] {
  const rng = seededRng(seed);
  const out = new Set<string>();
  for (let i = 0; out.size < n; i++) {
    const q = question(rng, name);
    out.add(out.has(q) ? `${q.slice(0, -1)} (${i})?` : q);
  }
  return [...out];
}

/** `n` distinct memory texts, seeded (a counter breaks ties once the templates run out). */
export function memoryTexts(n: number, seed: number, name: string): string[] {
  const rng = seededRng(seed);
  const out = new Set<string>();
  for (let i = 0; out.size < n; i++) {
    const t = memoryText(rng, name);
    out.add(out.has(t) ? `${t.slice(0, -1)}, note ${i}.` : t);
  }
  return [...out];
}
