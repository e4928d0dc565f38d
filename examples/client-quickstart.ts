/**
 * Engram from TypeScript in a minute: publish a conversation, read your own writes, search, and
 * open a memory with the messages it came from.
 *
 *   npx engram keys create --tenant acme        # prints an API key (egk_…), once
 *   npx engram serve                            # in another terminal
 *   ENGRAM_URL=http://127.0.0.1:8080 ENGRAM_API_KEY=egk_… npx tsx examples/client-quickstart.ts
 */
import { createEngramClient, EngramApiError, type ConversationEventInput } from '../clients/typescript/client.js';

const baseUrl = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const apiKey = process.env.ENGRAM_API_KEY;
if (!apiKey) {
  process.stderr.write('set ENGRAM_API_KEY to a key from `engram keys create --tenant acme`\n');
  process.exit(2);
}

const engram = createEngramClient({ baseUrl, apiKey });

/** A user message in the published form (event ids make publishing idempotent). */
const said = (n: number, text: string): ConversationEventInput => ({
  eventId: `quickstart-e${n}`,
  tenantId: 'acme', // must be the key's tenant
  userId: 'sam',
  conversationId: 'quickstart',
  sessionId: 'quickstart-1',
  occurredAt: `2024-05-01T10:0${n}:00Z`,
  payload: { type: 'MessagePosted', messageId: `quickstart-m${n}`, role: 'user', speaker: 'Sam', text },
});

try {
  const { positions } = await engram.publish([said(1, 'I live in Lisbon and I work as a nurse.'), said(2, 'I am allergic to peanuts.')]);
  // Read your own writes: wait (up to 10 s) until these events are processed.
  const minOffset = Math.max(...positions.map((p) => p.offset));
  const { results, caughtUp } = await engram.search({ user: 'sam', q: 'what is Sam allergic to?', k: 3, minOffset, waitMs: 10_000 });
  console.log(`caught up: ${caughtUp}`);
  for (const hit of results) console.log(`${hit.score.toFixed(3)}  [${hit.kind}] ${hit.text}`);

  const top = results[0];
  if (top) {
    const { memory, sources, history } = await engram.memory('sam', top.id);
    console.log(`\n${memory.text} (v${memory.version}, ${memory.status})`);
    for (const s of sources) console.log(`  from ${s.speaker ?? '?'}: "${s.text ?? '(erased)'}"`);
    for (const h of history) console.log(`  v${h.version} ${h.type}: ${h.reason}`);
  }
} catch (err) {
  if (err instanceof EngramApiError) {
    process.stderr.write(`engram API: ${err.message} (HTTP ${err.status})\n`);
    process.exit(1);
  }
  throw err;
}
