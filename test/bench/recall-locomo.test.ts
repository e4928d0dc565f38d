import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { ConversationEvent } from '../../core/model.js';
import { auditedQuestions, loadAudit } from '../../bench/recall/audit.js';
import {
  conversationEvents,
  loadLocomo,
  LocomoFileError,
  normaliseEvidence,
  parseSessionDate,
  userIdOf,
  type LocomoConversation,
} from '../../bench/recall/locomo.js';
import { parseConversationEvent, validateConversationEvent } from '../../schemas/conversation-input.js';

// A synthetic LoCoMo file (never the real data): two sessions of three turns, listed out of order
// to check they are sorted, with the extra keys real files carry (speakers, img_url, answers).
const SESSION_1_DATE = Date.UTC(2023, 4, 8, 13, 56);
const SESSION_2_DATE = Date.UTC(2023, 4, 25, 0, 5);
const SAMPLE = [
  {
    sample_id: 'conv 26/x',
    conversation: {
      speaker_a: 'Caroline',
      speaker_b: 'Melanie',
      session_2_date_time: '12:05 am on 25 May, 2023',
      session_2: [
        { speaker: 'Melanie', dia_id: 'D2:1', text: 'I painted a sunrise.' },
        { speaker: 'Caroline', dia_id: 'D2:2', text: 'Lovely!', blip_caption: '   ' },
        { speaker: 'Melanie', dia_id: 'D2:3', text: 'Thanks.' },
      ],
      session_1_date_time: '1:56 pm on 8 May, 2023',
      session_1: [
        { speaker: 'Caroline', dia_id: 'D1:1', text: 'I went to a support group.' },
        { speaker: 'Melanie', dia_id: 'D1:2', text: 'Look at this!', img_url: ['http://example.invalid/x.jpg'], blip_caption: ' a photo of a dog ' },
        { speaker: 'Caroline', dia_id: 'D1:3', text: 'So cute.' },
      ],
    },
    qa: [
      { question: 'Where did Caroline go?', answer: 'a support group', evidence: ['D1:1'], category: 1 },
      { question: 'What did Caroline adopt?', adversarial_answer: 'a cat', evidence: ['D2:1'], category: 5 },
      { question: 'When did Melanie paint?', answer: 2023, evidence: ['D1:3; D2:2', 'D2 1'], category: 2 },
      { question: 'What is missing?', answer: 'nothing', evidence: ['D9:9'], category: 4 },
      { question: 'Why the dog?', answer: 'cute', evidence: ['D:1:2'], category: 3 },
      { question: 'No evidence at all?', answer: '?', category: 1 },
    ],
  },
];

function withTempDir(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function writeJson(dir: string, name: string, data: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}

function loadSample(): LocomoConversation {
  let out: LocomoConversation[] = [];
  withTempDir((dir) => {
    out = loadLocomo(writeJson(dir, 'locomo.json', SAMPLE));
  });
  const [c] = out;
  if (!c || out.length !== 1) throw new Error('expected one conversation');
  return c;
}

// ---------------------------------------------------------------- session dates

test('parseSessionDate reads an afternoon time as UTC', (t) => {
  t.is(parseSessionDate('1:56 pm on 8 May, 2023'), Date.UTC(2023, 4, 8, 13, 56));
});

test('parseSessionDate: 12 am is midnight, 12 pm is noon', (t) => {
  t.is(parseSessionDate('12:05 am on 1 January, 2024'), Date.UTC(2024, 0, 1, 0, 5));
  t.is(parseSessionDate('12:30 pm on 1 January, 2024'), Date.UTC(2024, 0, 1, 12, 30));
  t.is(parseSessionDate('9:00 am on 31 December, 2022'), Date.UTC(2022, 11, 31, 9, 0));
});

test('parseSessionDate tolerates case, a missing comma and surrounding spaces', (t) => {
  t.is(parseSessionDate('  7:01 PM on 17 august 2023 '), Date.UTC(2023, 7, 17, 19, 1));
});

test('parseSessionDate rejects dates it cannot read with LocomoFileError', (t) => {
  for (const bad of ['', '2023-05-08T13:56:00Z', '1:56 pm on 8 Mai, 2023', '1:56 on 8 May, 2023', 'yesterday']) {
    const err = t.throws(() => parseSessionDate(bad), { instanceOf: LocomoFileError }, bad);
    t.true(err?.message.includes(bad));
  }
});

// ---------------------------------------------------------------- evidence

const TURNS = new Set(['D1:1', 'D1:2', 'D8:6', 'D9:17', 'D10:3']);

test('normaliseEvidence splits "D8:6; D9:17" in two', (t) => {
  t.deepEqual(normaliseEvidence(['D8:6; D9:17'], TURNS), ['D8:6', 'D9:17']);
  t.deepEqual(normaliseEvidence(['D8:6;D9:17'], TURNS), ['D8:6', 'D9:17']);
  t.deepEqual(normaliseEvidence(['D8:6 D9:17'], TURNS), ['D8:6', 'D9:17']);
});

test('normaliseEvidence repairs "D8 6" and "D:8:6"', (t) => {
  t.deepEqual(normaliseEvidence(['D8 6'], TURNS), ['D8:6']);
  t.deepEqual(normaliseEvidence(['D:8:6'], TURNS), ['D8:6']);
  t.deepEqual(normaliseEvidence(['D10:3'], TURNS), ['D10:3']);
});

test('normaliseEvidence drops ids not present and removes duplicates, keeping first-seen order', (t) => {
  t.deepEqual(normaliseEvidence(['D9:17', 'D3:3', 'D8:6', 'D9:17', 'D:8:6', 'garbage', 'D7'], TURNS), ['D9:17', 'D8:6']);
  t.deepEqual(normaliseEvidence([], TURNS), []);
  t.deepEqual(normaliseEvidence(['D1:1'], new Set()), []);
});

// ---------------------------------------------------------------- loading

test('loadLocomo on a missing path throws LocomoFileError naming the path', (t) => {
  withTempDir((dir) => {
    const missing = path.join(dir, 'nope', 'locomo-dev.json');
    const err = t.throws(() => loadLocomo(missing), { instanceOf: LocomoFileError });
    t.true(err?.message.includes(missing));
  });
});

test('loadLocomo on non-JSON throws LocomoFileError', (t) => {
  withTempDir((dir) => {
    const file = writeJson(dir, 'bad.json', '{ not json');
    const err = t.throws(() => loadLocomo(file), { instanceOf: LocomoFileError });
    t.regex(err?.message ?? '', /not JSON/);
  });
});

test('loadLocomo on the wrong shape throws LocomoFileError', (t) => {
  withTempDir((dir) => {
    const shapes: [string, unknown][] = [
      ['object', { sample_id: 'x' }],
      ['empty array', []],
      ['no qa', [{ sample_id: 'x', conversation: {} }]],
      ['bad category', [{ sample_id: 'x', conversation: {}, qa: [{ question: 'q', evidence: [], category: 'one' }] }]],
    ];
    for (const [name, data] of shapes) {
      const file = writeJson(dir, 'shape.json', data);
      const err = t.throws(() => loadLocomo(file), { instanceOf: LocomoFileError }, name);
      t.regex(err?.message ?? '', /not a LoCoMo file/, name);
    }
  });
});

test('loadLocomo rejects bad sessions: invalid turns, a missing or unreadable date', (t) => {
  withTempDir((dir) => {
    const bad: [string, Record<string, unknown>][] = [
      ['turns', { session_1: [{ speaker: '', dia_id: 'D1:1', text: 'x' }], session_1_date_time: '1:56 pm on 8 May, 2023' }],
      ['no date', { session_1: [{ speaker: 'A', dia_id: 'D1:1', text: 'x' }] }],
      ['bad date', { session_1: [{ speaker: 'A', dia_id: 'D1:1', text: 'x' }], session_1_date_time: 'sometime' }],
    ];
    for (const [name, conversation] of bad) {
      const file = writeJson(dir, 'sessions.json', [{ sample_id: 'c1', conversation, qa: [] }]);
      const err = t.throws(() => loadLocomo(file), { instanceOf: LocomoFileError }, name);
      t.true(err?.message.includes('session_1') || err?.message.includes('sometime'), name);
    }
  });
});

test('loadLocomo reads sessions in order with dates, turn times and captions', (t) => {
  const c = loadSample();
  t.is(c.sampleId, 'conv 26/x');
  t.is(c.index, 0);
  t.deepEqual(
    c.sessions.map((s) => [s.index, s.date]),
    [
      [1, SESSION_1_DATE],
      [2, SESSION_2_DATE],
    ],
  );
  const [s1, s2] = c.sessions;
  if (!s1 || !s2) return t.fail();
  t.deepEqual(
    s1.turns.map((x) => x.diaId),
    ['D1:1', 'D1:2', 'D1:3'],
  );
  t.deepEqual(
    s1.turns.map((x) => x.occurredAt),
    [SESSION_1_DATE + 1000, SESSION_1_DATE + 2000, SESSION_1_DATE + 3000],
  );
  t.deepEqual(s1.turns[1], { diaId: 'D1:2', speaker: 'Melanie', text: 'Look at this!', caption: 'a photo of a dog', occurredAt: SESSION_1_DATE + 2000 });
  // A blank caption is no caption; a turn without one has none.
  t.is(s2.turns[1]?.caption, null);
  t.is(s1.turns[0]?.caption, null);
});

test('loadLocomo keeps categories 1-4 with existing evidence, ids by qa index', (t) => {
  const c = loadSample();
  t.deepEqual(c.questions, [
    { id: 'locomo_0_qa0', question: 'Where did Caroline go?', category: 1, evidence: ['D1:1'] },
    { id: 'locomo_0_qa2', question: 'When did Melanie paint?', category: 2, evidence: ['D1:3', 'D2:2', 'D2:1'] },
    { id: 'locomo_0_qa4', question: 'Why the dog?', category: 3, evidence: ['D1:2'] },
  ]);
  // Category 5 is dropped without counting; the category-4 question citing a missing turn and the
  // category-1 question citing nothing are skipped.
  t.is(c.skipped, 2);
});

test('loadLocomo indexes several conversations in file order', (t) => {
  withTempDir((dir) => {
    const second = { ...SAMPLE[0], sample_id: 'conv-30' };
    const all = loadLocomo(writeJson(dir, 'two.json', [SAMPLE[0], second]));
    t.deepEqual(
      all.map((c) => [c.index, c.sampleId, c.questions[0]?.id]),
      [
        [0, 'conv 26/x', 'locomo_0_qa0'],
        [1, 'conv-30', 'locomo_1_qa0'],
      ],
    );
  });
});

// ---------------------------------------------------------------- events

test('userIdOf makes the sample id safe for a scope', (t) => {
  const c = loadSample();
  t.is(userIdOf(c), 'conv_26_x');
  t.is(userIdOf({ ...c, sampleId: 'a'.repeat(80) }), 'a'.repeat(64));
  t.is(userIdOf({ ...c, sampleId: 'conv-26' }), 'conv-26');
});

test('conversationEvents: one wave per session, a MessagePosted per turn, SessionEnded last', (t) => {
  const c = loadSample();
  const waves = conversationEvents(c, 'bench');
  t.is(waves.length, 2);
  const [w1, w2] = waves;
  if (!w1 || !w2) return t.fail();
  t.deepEqual(
    w1.map((e) => e.payload.type),
    ['MessagePosted', 'MessagePosted', 'MessagePosted', 'SessionEnded'],
  );
  t.deepEqual(
    w2.map((e) => e.payload.type),
    ['MessagePosted', 'MessagePosted', 'MessagePosted', 'SessionEnded'],
  );
  const expected: ConversationEvent = {
    eventId: 'conv_26_x-D1:2',
    tenantId: 'bench',
    userId: 'conv_26_x',
    conversationId: 'conv_26_x-chat',
    sessionId: 'conv_26_x-s1',
    occurredAt: SESSION_1_DATE + 2000,
    payload: {
      type: 'MessagePosted',
      messageId: 'D1:2',
      role: 'user',
      speaker: 'Melanie',
      text: 'Look at this!',
      attachmentCaptions: ['a photo of a dog'],
    },
  };
  t.deepEqual(w1[1], expected);
  t.deepEqual(
    w2.map((e) => e.occurredAt),
    [SESSION_2_DATE + 1000, SESSION_2_DATE + 2000, SESSION_2_DATE + 3000, SESSION_2_DATE + 4000],
  );
  t.deepEqual(
    w2.flatMap((e) => (e.payload.type === 'MessagePosted' ? [[e.payload.messageId, e.payload.attachmentCaptions.length]] : [])),
    [
      ['D2:1', 0],
      ['D2:2', 0],
      ['D2:3', 0],
    ],
  );
  t.deepEqual(w2[3], {
    eventId: 'conv_26_x-end-s2',
    tenantId: 'bench',
    userId: 'conv_26_x',
    conversationId: 'conv_26_x-chat',
    sessionId: 'conv_26_x-s2',
    occurredAt: SESSION_2_DATE + 4000,
    payload: { type: 'SessionEnded' },
  });
  // Event ids are unique across the conversation.
  const ids = waves.flat().map((e) => e.eventId);
  t.is(new Set(ids).size, ids.length);
});

test('an empty session still ends, one second after its date', (t) => {
  const c = loadSample();
  const empty: LocomoConversation = { ...c, sessions: [{ index: 7, date: SESSION_1_DATE, turns: [] }] };
  const [wave] = conversationEvents(empty, 'bench');
  t.deepEqual(
    wave?.map((e) => [e.payload.type, e.occurredAt]),
    [['SessionEnded', SESSION_1_DATE + 1000]],
  );
});

test('the events decode with the published-event schema unchanged', (t) => {
  const c = loadSample();
  const events = conversationEvents(c, 'bench').flat();
  t.is(events.length, 8);
  for (const e of events) {
    // Round-trip through JSON, as a producer would publish them.
    t.deepEqual(parseConversationEvent(JSON.parse(JSON.stringify(e))), e);
    t.notThrows(() => validateConversationEvent(e));
  }
});

// ---------------------------------------------------------------- audit

test('loadAudit keeps only rows whose correct evidence differs from the cited', (t) => {
  withTempDir((dir) => {
    const file = writeJson(dir, 'audit.json', [
      { question_id: 'locomo_0_qa0', cited_evidence: ['D1:1'], correct_evidence: ['D1:3'] },
      { question_id: 'locomo_0_qa2', cited_evidence: ['D2:2', 'D1:3'], correct_evidence: ['D1:3', 'D2:2'] },
      { question_id: 'locomo_0_qa4', cited_evidence: ['D1:2'], correct_evidence: [] },
      { question_id: 'locomo_0_qa5', cited_evidence: ['D1:2'] },
      { question_id: 'locomo_0_qa6', correct_evidence: ['D2:3'], verdict: 'missing' },
    ]);
    const audit = loadAudit(file);
    t.deepEqual(
      [...audit.entries()],
      [
        ['locomo_0_qa0', ['D1:3']],
        ['locomo_0_qa6', ['D2:3']],
      ],
    );
  });
});

test('loadAudit on a missing, non-JSON or wrong-shape file throws LocomoFileError', (t) => {
  withTempDir((dir) => {
    t.throws(() => loadAudit(path.join(dir, 'absent.json')), { instanceOf: LocomoFileError });
    t.throws(() => loadAudit(writeJson(dir, 'a.json', 'nope')), { instanceOf: LocomoFileError });
    t.throws(() => loadAudit(writeJson(dir, 'b.json', { question_id: 'x' })), { instanceOf: LocomoFileError });
    t.throws(() => loadAudit(writeJson(dir, 'c.json', [{ cited_evidence: [] }])), { instanceOf: LocomoFileError });
  });
});

test('auditedQuestions substitutes corrected evidence by question id', (t) => {
  const c = loadSample();
  const corrections = new Map<string, readonly string[]>([
    ['locomo_0_qa0', ['D2:3; D1:2']],
    // Cites only turns that do not exist: the question keeps its own evidence.
    ['locomo_0_qa2', ['D9:9']],
    ['locomo_0_qa99', ['D1:1']],
  ]);
  const qs = auditedQuestions(c, corrections);
  t.deepEqual(
    qs.map((q) => [q.id, q.evidence]),
    [
      ['locomo_0_qa0', ['D2:3', 'D1:2']],
      ['locomo_0_qa2', ['D1:3', 'D2:2', 'D2:1']],
      ['locomo_0_qa4', ['D1:2']],
    ],
  );
  t.is(qs[0]?.question, 'Where did Caroline go?');
  t.is(qs[0]?.category, 1);
  // Uncorrected questions are passed through; the input is not modified.
  t.is(qs[2], c.questions[2]);
  t.deepEqual(c.questions[0]?.evidence, ['D1:1']);
});

test('auditedQuestions with no corrections returns the questions as they are', (t) => {
  const c = loadSample();
  t.deepEqual(auditedQuestions(c, new Map()), [...c.questions]);
});
