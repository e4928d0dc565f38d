/**
 * Read-your-writes: a client that published events passes the offset it got back as `minOffset`
 * and the search waits (bounded) until the user's events up to that offset are processed. A user's
 * events all go to one partition (key `tenant/user`, Kafka's default partitioner), so the offset is
 * a position in that partition.
 */
import { TOPICS } from '../../core/model.js';
import { scopeKey, type Scope } from '../../core/scope.js';
import { partitionForKey } from '../../infra/embedded/partitioner.js';
import type { RouteContext } from './routes/context.js';

/** How often to ask whether processing has caught up. */
const POLL_MS = 20;

/** True once the user's conversation events up to `offset` are processed; false if `waitMs` ran out first. */
export async function waitForOffset(ctx: RouteContext, scope: Scope, offset: number, waitMs: number): Promise<boolean> {
  const partition = partitionForKey(scopeKey(scope), await ctx.partitions());
  const position = { topic: TOPICS.conversation, partition, offset };
  const deadline = ctx.clock.now() + waitMs;
  for (;;) {
    if (await ctx.service.caughtUp(position)) return true;
    const left = deadline - ctx.clock.now();
    if (left <= 0) return false;
    await ctx.sleep(Math.min(POLL_MS, left));
  }
}
