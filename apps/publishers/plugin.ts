/**
 * The Fastify plugin that mounts the chat-platform receivers: `POST /v1/hooks/slack`,
 * `/v1/hooks/discord` and `/v1/hooks/webhook`, each only when its secret is configured. They are
 * authenticated by the platform's signature (not by API keys), so they read the raw body: the
 * plugin replaces the body parsers in its own encapsulation context only. A delivery is verified,
 * mapped, and its events published once: retries (same delivery id, same event ids) publish nothing.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { EngramError } from '../../core/errors.js';
import type { ConversationEvent, LogPosition } from '../../core/model.js';
import { systemClock } from '../../core/random.js';
import type { Clock } from '../../core/random.js';
import type { PublishersConfig } from '../../infra/config.js';
import type { MemoryService } from '../service.js';
import { RecentIds } from './dedup.js';
import { SignatureError } from './errors.js';
import { mapDiscordDispatches, mapDiscordInteraction, verifyDiscordRequest } from './discord.js';
import { parseJsonBody } from './mapping.js';
import { ed25519PublicKey } from './signature.js';
import { mapSlackPayload, verifySlackRequest } from './slack.js';
import { mapWebhookPayload, verifyWebhookRequest } from './webhook.js';

/** What the receivers need; a platform is mounted only when its entry is present. */
export interface PublisherSettings {
  readonly slack?: { readonly signingSecret: string; readonly tenantId: string };
  /** Interactions need `publicKey`; a gateway relay needs `relaySecret`; either mounts the route. */
  readonly discord?: { readonly tenantId: string; readonly publicKey?: string; readonly relaySecret?: string };
  /** `tenantId`, when set, is the only tenant the webhook's events may name. */
  readonly webhook?: { readonly secret: string; readonly tenantId?: string };
  /** Time for the replay window (the system clock by default). */
  readonly clock?: Clock;
  /** Called after events were published (the embedded server kicks its processing loop). */
  readonly afterPublish?: () => void;
  /** Largest accepted body, in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** How many delivery and event ids are remembered for deduplication. */
  readonly recentCapacity?: number;
}

/** The paths the plugin may mount. */
export const HOOK_PATHS = { slack: '/v1/hooks/slack', discord: '/v1/hooks/discord', webhook: '/v1/hooks/webhook' } as const;

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const HTTP_STATUS: Readonly<Record<string, number>> = { invalid_input: 400, bad_signature: 401, forbidden: 403 };

/** Receiver settings from the `publishers` config section (platforms without a secret are left out). */
export function publisherSettingsOf(config: PublishersConfig): PublisherSettings {
  const { slackSigningSecret, slackTenant, discordPublicKey, discordRelaySecret, discordTenant, webhookSecret, webhookTenant } = config;
  return {
    ...(slackSigningSecret !== undefined && slackTenant !== undefined ? { slack: { signingSecret: slackSigningSecret, tenantId: slackTenant } } : {}),
    ...((discordPublicKey !== undefined || discordRelaySecret !== undefined) && discordTenant !== undefined
      ? { discord: { tenantId: discordTenant, publicKey: discordPublicKey, relaySecret: discordRelaySecret } }
      : {}),
    ...(webhookSecret !== undefined ? { webhook: { secret: webhookSecret, tenantId: webhookTenant } } : {}),
  };
}

/** The paths a settings object mounts (for the OpenAPI document and start-up messages). */
export function enabledHooks(settings: PublisherSettings): string[] {
  return (['slack', 'discord', 'webhook'] as const).filter((p) => settings[p] !== undefined).map((p) => HOOK_PATHS[p]);
}

/**
 * The receivers as a Fastify plugin: `app.register(publishersPlugin(service, settings))` (no
 * prefix). Only `publish` of the service is used.
 */
export function publishersPlugin(service: Pick<MemoryService, 'publish'>, settings: PublisherSettings): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const clock = settings.clock ?? systemClock;
    const recent = new RecentIds(settings.recentCapacity);
    const bodyLimit = settings.bodyLimit ?? DEFAULT_BODY_LIMIT;
    // Signatures are over the exact bytes: keep every body as its raw string (this context only).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err: FastifyError | EngramError, req, reply) => sendError(err, req, reply));

    /** Publishes the events not published before; a retry of a delivery waits for the first try. */
    const publishOnce = async (deliveryId: string | null, events: readonly ConversationEvent[]): Promise<Published> => {
      const publishEvents = async (): Promise<Published> => {
        const outcome = await recent.once(
          events.map((e) => e.eventId),
          async (fresh) => {
            const wanted = new Set(fresh);
            const batch = events.filter((e) => wanted.delete(e.eventId));
            const positions = await service.publish(batch);
            if (batch.length > 0) settings.afterPublish?.();
            return positions;
          },
        );
        return { accepted: outcome.fresh.length, duplicates: outcome.duplicates, positions: outcome.result ?? [], duplicate: false };
      };
      if (deliveryId === null) return publishEvents();
      const delivery = await recent.once([`delivery:${deliveryId}`], publishEvents);
      return delivery.result ?? { accepted: 0, duplicates: events.length, positions: [], duplicate: true };
    };

    const slack = settings.slack;
    if (slack !== undefined) {
      app.post(HOOK_PATHS.slack, { bodyLimit }, async (req, reply) => {
        const raw = rawBodyOf(req);
        verifySlackRequest(slack.signingSecret, { signature: header(req, 'x-slack-signature'), timestamp: header(req, 'x-slack-request-timestamp') }, raw, clock.now());
        const delivery = mapSlackPayload(parseJsonBody(raw), slack.tenantId);
        if (delivery.kind === 'challenge') return reply.status(200).send({ challenge: delivery.challenge });
        const published = await publishOnce(delivery.deliveryId, delivery.events);
        return reply.status(200).send({ ok: true, ...summary(published), ignored: delivery.ignored });
      });
    }

    const discord = settings.discord;
    if (discord !== undefined) {
      const publicKey = discord.publicKey === undefined ? undefined : ed25519PublicKey(discord.publicKey);
      app.post(HOOK_PATHS.discord, { bodyLimit }, async (req, reply) => {
        const raw = rawBodyOf(req);
        const signature = header(req, 'x-signature-ed25519');
        if (signature !== undefined) {
          if (publicKey === undefined) throw new SignatureError('Discord interactions are not configured (ENGRAM_DISCORD_PUBLIC_KEY)');
          verifyDiscordRequest(publicKey, { signature, timestamp: header(req, 'x-signature-timestamp') }, raw, clock.now());
          const interaction = mapDiscordInteraction(parseJsonBody(raw), discord.tenantId);
          await publishOnce(interaction.deliveryId, interaction.events);
          return reply.status(200).send(interaction.response);
        }
        if (header(req, 'x-engram-signature') !== undefined && discord.relaySecret !== undefined) {
          verifyWebhookRequest(discord.relaySecret, webhookHeaders(req), raw, clock.now());
          const mapped = mapDiscordDispatches(parseJsonBody(raw), discord.tenantId, clock.now());
          const published = await publishOnce(null, mapped.events);
          return reply.status(202).send({ ...summary(published), ignored: mapped.ignored });
        }
        throw new SignatureError('missing X-Signature-Ed25519 (interactions) or X-Engram-Signature (gateway relay)');
      });
    }

    const webhook = settings.webhook;
    if (webhook !== undefined) {
      app.post(HOOK_PATHS.webhook, { bodyLimit }, async (req, reply) => {
        const raw = rawBodyOf(req);
        verifyWebhookRequest(webhook.secret, webhookHeaders(req), raw, clock.now());
        const events = mapWebhookPayload(parseJsonBody(raw), webhook.tenantId);
        const published = await publishOnce(null, events);
        return reply.status(202).send(summary(published));
      });
    }
  };
}

interface Published {
  /** Events published by this request. */
  readonly accepted: number;
  /** Events (or, for a repeated delivery, the whole delivery) published before. */
  readonly duplicates: number;
  readonly positions: readonly LogPosition[];
  /** The delivery id was seen before: nothing was mapped again. */
  readonly duplicate: boolean;
}

function summary(p: Published): Record<string, unknown> {
  return { accepted: p.accepted, duplicates: p.duplicates, duplicate: p.duplicate, positions: p.positions };
}

function rawBodyOf(req: FastifyRequest): string {
  return typeof req.body === 'string' ? req.body : '';
}

function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function webhookHeaders(req: FastifyRequest): { signature: string | undefined; timestamp: string | undefined } {
  return { signature: header(req, 'x-engram-signature'), timestamp: header(req, 'x-engram-timestamp') };
}

/** JSON errors `{ error: { code, message } }`; a 4xx to Slack also asks it not to retry. */
function sendError(err: FastifyError | EngramError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let status: number;
  let code: string;
  if (err instanceof EngramError) {
    status = HTTP_STATUS[err.code] ?? (err.retriable ? 503 : 500);
    code = err.code;
  } else {
    status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    code = status === 413 ? 'too_large' : status < 500 ? 'bad_request' : 'internal';
  }
  if (status >= 500) req.log.error({ err }, 'publisher request failed');
  if (status >= 400 && status < 500 && req.routeOptions.url === HOOK_PATHS.slack) void reply.header('x-slack-no-retry', '1');
  const message = status >= 500 && !(err instanceof EngramError) ? 'internal error' : err.message;
  return reply.status(status).send({ error: { code, message } });
}
