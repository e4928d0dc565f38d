/**
 * The offline embedder sends texts to the model shortest first (a speed fix from the performance
 * work): the vectors must still come back in the caller's order, each as if embedded on its own.
 */
import test from 'ava';
import { UseLiteEmbedder } from '../../infra/embedder/use-lite.js';
import { cosine } from '../../core/text.js';

test('vectors come back in input order whatever the lengths', async (t) => {
  const model = new UseLiteEmbedder();
  const long = 'In this session Maya talked about hiking in the Alps, her new job at the library, and the trip to Oslo she is planning with her sister Emma in June.';
  const texts = [long, 'ok', 'I live in Lisbon.', '', long.slice(0, 60), 'My dog is called Pico.'];
  // More texts than one model batch, in an order the sort changes.
  const many = Array.from({ length: 40 }, (_, i) => texts[i % texts.length] as string);
  const together = await model.embed(many);
  t.is(together.length, many.length);
  for (const [i, text] of texts.entries()) {
    const [alone] = await model.embed([text]);
    for (let j = i; j < many.length; j += texts.length) {
      t.true(cosine(together[j] as number[], alone as number[]) > 0.99999, `text ${i} at ${j}`);
    }
  }
  // Distinct texts stay distinct: no two slots were swapped.
  t.true(cosine(together[0] as number[], together[1] as number[]) < 0.9);
});
