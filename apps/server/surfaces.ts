/**
 * The surfaces `engram serve` mounts beside the core `/v1` API, the same on both profiles:
 * Prometheus `/metrics`, the MCP endpoint `/mcp`, the chat-platform receivers `/v1/hooks/*` (each
 * only when its secret is configured) and the memory explorer `/ui`.
 */
import type { Config } from '../../infra/config.js';
import { metricsPlugin } from '../../infra/observability/metrics-plugin.js';
import { mcpPlugin } from '../mcp/http.js';
import { publishersPlugin, publisherSettingsOf } from '../publishers/plugin.js';
import type { MemoryService } from '../service.js';
import { uiPlugin } from '../ui/plugin.js';
import type { ServerPlugin } from './http.js';

/**
 * The plugins of `engram serve`. `afterPublish` starts processing after a message arrives through
 * MCP or a platform hook (the embedded profile; on the cluster the other roles process).
 */
export function servePlugins(service: MemoryService, config: Config, afterPublish?: () => void): ServerPlugin[] {
  return [
    metricsPlugin,
    mcpPlugin(service, afterPublish ? { afterPublish } : {}),
    publishersPlugin(service, { ...publisherSettingsOf(config.publishers), ...(afterPublish ? { afterPublish } : {}) }),
    uiPlugin(),
  ];
}
