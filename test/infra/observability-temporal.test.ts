/**
 * The cluster profile's tracing set-up builds: `bundleWorkflowCode` over workflows/ still succeeds
 * with the OpenTelemetry workflow interceptors module added (what the worker does when tracing is
 * on), and the bundle carries the interceptors and no I/O modules.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowTracingModule } from '../../infra/observability/temporal-tracing.js';

const workflowsPath = join(fileURLToPath(new URL('../../', import.meta.url)), 'workflows', 'index.ts');

test('bundleWorkflowCode succeeds with the OpenTelemetry workflow interceptors module', async (t) => {
  const bundle = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: [workflowTracingModule()],
    logger: new DefaultLogger('WARN'),
  });
  t.regex(bundle.code, /memoryWorkflow/);
  t.regex(bundle.code, /OpenTelemetryInboundInterceptor/);
  t.regex(bundle.code, /OpenTelemetryOutboundInterceptor/);
  t.notRegex(bundle.code, /better-sqlite3|kafkajs|neo4j-driver|@qdrant|prom-client|pino/);
});
