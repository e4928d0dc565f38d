/**
 * The encoder's graph run synchronously (use-lite-encoder.mjs) gives exactly the vectors of the
 * library's `executeAsync`, and a graph that is not the one expected keeps the library's path.
 */
import test from 'ava';
import { loadEncoderModel, syncEncoder, type SentenceEncoder } from '../../infra/embedder/use-lite-encoder.mjs';

const LONG = 'In this session Maya talked about hiking in the Alps, her new job at the library, and the trip to Oslo she is planning with her sister Emma in June.';

/** Texts of every kind the model meets: short, long, past the 128-token limit, blank, non-Latin. */
const BATCHES: string[][] = [
  ['What did Maya do last week?', 'maya week'],
  ['ok'],
  [LONG.repeat(8)],
  ['', '   ', 'I live in Lisbon.'],
  Array.from({ length: 32 }, (_, i) => `${i % 4 === 0 ? LONG : 'Ich wohne in Berlin. 東京に住んでいます。'} #${i}`),
];

test('the synchronous graph gives bit-identical vectors to executeAsync', async (t) => {
  const library = await loadEncoderModel();
  const fast = await syncEncoder(library);
  if (fast === null) return t.fail('the encoder graph lacks the nodes the synchronous path feeds');
  for (const texts of BATCHES) {
    const expected = await library.embed(texts);
    const actual = await fast.embed(texts);
    t.is(actual.length, texts.length);
    t.deepEqual(actual, expected, `batch starting ${JSON.stringify(texts[0]).slice(0, 30)}`);
  }
});

test('an input the library rejects is rejected the same way', async (t) => {
  const library = await loadEncoderModel();
  const fast = (await syncEncoder(library)) as SentenceEncoder;
  const expected = await t.throwsAsync(library.embed(['']));
  await t.throwsAsync(fast.embed(['']), { message: expected?.message });
});

test('a graph without the expected nodes keeps the library path', async (t) => {
  const stranger = { model: { weights: {} }, tokenizer: { encode: () => [1] }, embed: async () => [[0]] };
  t.is(await syncEncoder(stranger as unknown as SentenceEncoder), null);
});
