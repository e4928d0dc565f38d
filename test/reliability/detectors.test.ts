/**
 * The battery's detectors detect: duplicate memories, checkpoint regressions, lost messages and
 * the summary line, on hand-made inputs (so a green battery means something).
 */
import test from 'ava';
import type { ConversationEvent, Memory, MemoryEvent } from '../../core/model.js';
import type { MemoryState } from '../../core/ports.js';
import { sampleOf } from '../../schemas/fixtures/samples.js';
import {
  batterySummary,
  canonicalSnapshot,
  checkpointRegressions,
  duplicateCount,
  duplicateMemories,
  unrememberedMessages,
} from '../helpers/reliability.js';

const added = sampleOf('MemoryAdded', 1)?.event as MemoryEvent;
const base = (added.payload as { memory: Memory }).memory;
const state = (id: string, patch: Partial<Memory> = {}, status: MemoryState['status'] = 'active'): MemoryState => ({
  memory: { ...base, id, ...patch },
  status,
  version: 1,
  quarantineReasons: [],
  decisionReason: 'ADD',
  invalidatedBy: null,
  clusters: [],
  links: [],
});

test('duplicate memories: same scope, kind, text and sources; other statuses and texts are not duplicates', (t) => {
  t.deepEqual(duplicateMemories([state('a'), state('b', { text: 'other' }), state('c', {}, 'invalidated')]), []);
  t.is(duplicateMemories([state('a'), state('b'), state('c')]).length, 1);
  t.is(duplicateCount([state('a'), state('b'), state('c'), state('d', { userId: 'someone' })]), 2);
});

test('checkpoint regressions: a value that goes back or vanishes is reported, growth is not', (t) => {
  t.deepEqual(checkpointRegressions({ a: 1, b: 5 }, { a: 2, b: 5, c: 0 }), []);
  t.deepEqual(checkpointRegressions({ a: 3, b: 5 }, { a: 2 }), ['a went back from 3 to 2', 'b vanished (was 5)']);
});

test('unremembered messages: neither a source nor the cause of a reinforcement', (t) => {
  const posted = (n: number): ConversationEvent => ({
    eventId: `e${n}`,
    tenantId: 'acme',
    userId: 'caroline',
    conversationId: 'c',
    sessionId: 's',
    occurredAt: n,
    payload: { type: 'MessagePosted', messageId: `m${n}`, role: 'user', speaker: 'C', text: 'hi', attachmentCaptions: [] },
  });
  const sourced = state('a', { sources: [{ ...base.sources[0]!, messageId: 'm1' }] });
  const reinforced = { ...added, causationId: 'e2', payload: { type: 'MemoryReinforced' } } as unknown as MemoryEvent;
  t.deepEqual(unrememberedMessages([posted(1), posted(2), posted(3)], [sourced], [reinforced]), ['e3']);
});

test('canonical snapshots ignore surrogate doc ids and property order, and nothing else', (t) => {
  const live = {
    memoryDb: {
      vec_docs: ['{"doc_id":1,"memory_id":"x"}', '{"doc_id":2,"memory_id":"y"}'],
      fts_memories: ['{"rowid":1,"text":"X"}', '{"rowid":2,"text":"Y"}'],
    },
    graph: ['{"a":1,"b":2}'],
  };
  const rebuilt = {
    memoryDb: {
      vec_docs: ['{"doc_id":1,"memory_id":"y"}', '{"doc_id":2,"memory_id":"x"}'],
      fts_memories: ['{"rowid":2,"text":"X"}', '{"rowid":1,"text":"Y"}'],
    },
    graph: ['{"b":2,"a":1}'],
  };
  t.is(canonicalSnapshot(rebuilt).hash, canonicalSnapshot(live).hash);
  const wrong = { ...rebuilt, memoryDb: { ...rebuilt.memoryDb, fts_memories: ['{"rowid":1,"text":"X"}', '{"rowid":2,"text":"Y"}'] } };
  t.not(canonicalSnapshot(wrong).hash, canonicalSnapshot(live).hash, 'a text moved to another memory is a difference');
});

test('the summary line has the figures the issue asks for', (t) => {
  t.is(batterySummary({ events: 5000, crashes: 23, lost: 0, duplicated: 0 }), '5000 events, 23 crashes: 0 lost, 0 duplicated');
});
