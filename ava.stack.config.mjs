// `npm run test:stack`: the contract and end-to-end tests against the compose stack. Each file
// skips cleanly when its server address (KAFKA_BROKERS, TEMPORAL_ADDRESS, QDRANT_URL, NEO4J_URL)
// is not set.
export default {
  files: ['test/stack/**/*.stack.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '2m',
  concurrency: 1,
};
