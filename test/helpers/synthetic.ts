/**
 * Synthetic conversations for tests and benchmarks (written by us; no external data): users who
 * move, change jobs and tastes, talk about pets and plans, with small talk in between.
 */
import type { ConversationEvent } from '../../core/model.js';
import { seededRng, type Rng } from '../../core/random.js';

const CITIES = ['Lisbon', 'Oslo', 'Berlin', 'Madrid', 'Dublin', 'Vienna', 'Prague', 'Warsaw', 'Athens', 'Helsinki'];
const EMPLOYERS = ['Siemens', 'Nokia', 'Spotify', 'Airbus', 'Philips', 'Ericsson', 'Zalando', 'Bosch'];
const FOODS = ['ramen', 'paella', 'sushi', 'pierogi', 'moussaka', 'risotto', 'tacos', 'falafel'];
const HOBBIES = ['hiking', 'chess', 'climbing', 'painting', 'cycling', 'baking', 'surfing', 'photography'];
const PETS = ['Pico', 'Luna', 'Max', 'Bella', 'Rocky', 'Mochi'];
const SMALL_TALK = ['ok', 'haha', 'thanks!', 'sounds good', 'lol', 'hi there'];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;

/** One user's message generator: a mix of facts, preferences, plans and small talk. */
function sentence(rng: Rng, name: string): string {
  const r = rng.next();
  if (r < 0.15) return `I live in ${pick(rng, CITIES)}.`;
  if (r < 0.27) return `I work at ${pick(rng, EMPLOYERS)} now.`;
  if (r < 0.4) return `I love ${pick(rng, HOBBIES)} on weekends.`;
  if (r < 0.5) return `My favourite food is ${pick(rng, FOODS)}.`;
  if (r < 0.58) return `I have a dog named ${pick(rng, PETS)}.`;
  if (r < 0.66) return `I am going to ${pick(rng, CITIES)} next month.`;
  if (r < 0.72) return `I went ${pick(rng, HOBBIES)} last Saturday with my sister.`;
  if (r < 0.8) return `Yesterday ${name} and I talked about ${pick(rng, HOBBIES)} and ${pick(rng, FOODS)} for hours.`;
  return pick(rng, SMALL_TALK);
}

/** `users` users × `messages` messages, sessions of ~8 turns, ending with SessionEnded. */
export function syntheticConversations(opts: { tenantId?: string; users: number; messages: number; seed: number }): ConversationEvent[] {
  const rng = seededRng(opts.seed);
  const tenantId = opts.tenantId ?? 'synthetic';
  const events: ConversationEvent[] = [];
  const start = Date.parse('2024-01-01T09:00:00Z');
  for (let u = 0; u < opts.users; u++) {
    const userId = `user${u}`;
    const name = `Person${u}`;
    let t = start + u * 3_600_000;
    let session = 0;
    for (let i = 0; i < opts.messages; i++) {
      const sessionId = `${userId}-s${session}`;
      events.push({
        eventId: `${userId}-e${i}`,
        tenantId,
        userId,
        conversationId: `${userId}-chat`,
        sessionId,
        occurredAt: t,
        payload: { type: 'MessagePosted', messageId: `${userId}-m${i}`, role: 'user', speaker: name, text: sentence(rng, name), attachmentCaptions: [] },
      });
      t += 60_000;
      if (i % 8 === 7) {
        events.push({ eventId: `${userId}-end${session}`, tenantId, userId, conversationId: `${userId}-chat`, sessionId, occurredAt: t, payload: { type: 'SessionEnded' } });
        session++;
        t += 3 * 86_400_000;
      }
    }
  }
  return events;
}
