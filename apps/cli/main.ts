/**
 * The `engram` command line. Every command validates its input, prints `code: message` for
 * known errors (never a bare stack trace) and exits non-zero on failure.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, EngramError } from '../../core/errors.js';
import { runDemo } from './demo.js';
import { lessonsCommand, quarantineListCommand, quarantineReviewCommand, rescanCommand } from './guard-commands.js';
import type * as RolesModule from './roles.js';
import { loadConfig, type Config } from '../../infra/config.js';
import {
  dlqCommand,
  forgetPassCommand,
  graphCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  memoriesCommand,
  memoryCommand,
  processCommand,
  publishCommand,
  replayCommand,
  searchCommand,
  serveCommand,
  usageCommand,
} from './commands.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

const program = new Command()
  .name('engram')
  .description('Event-sourced memory for AI agents: durable, replayable, auditable, guarded against poisoning.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

/** A command with --data-dir (env ENGRAM_DATA_DIR; the flag wins). */
function command(name: string, description: string, dataDirDefault = './.engram'): Command {
  return program
    .command(name)
    .description(description)
    .addOption(new Option('--data-dir <dir>', `data directory (env ENGRAM_DATA_DIR; default ${dataDirDefault})`));
}

/** A command about one user's memories. */
function scoped(name: string, description: string): Command {
  return command(name, description).requiredOption('--tenant <id>', 'tenant id').requiredOption('--user <id>', 'user id (the memory subject)');
}

command('demo', 'ingest the example conversations through the full pipeline and show what was learnt', './.engram-demo')
  .option('--examples <dir>', 'folder of example .jsonl conversations')
  .action(async (opts: { dataDir?: string; examples?: string }) =>
    runDemo({ dataDir: opts.dataDir ?? process.env.ENGRAM_DATA_DIR ?? './.engram-demo', examples: opts.examples }),
  );

command('publish', 'publish conversation events from a JSON Lines file, then process them (unless --no-process)')
  .argument('<file>', 'a .jsonl file: one conversation event per line ("-" for standard input)')
  .option('--no-process', 'only append to the log; do not run the pipeline')
  .action(async (file: string, opts: { dataDir?: string; process: boolean }) => publishCommand(opts, file, opts));

command('process', 'run the pipeline until every published event is processed and projected').action(
  async (opts: { dataDir?: string }) => processCommand(opts),
);

command('search', "hybrid search (dense + BM25) over a user's memories, in the data directory or on a running server (--url)")
  .option('--tenant <id>', 'tenant id (required without --url; with --url the key decides the tenant)')
  .requiredOption('--user <id>', 'user id (the memory subject)')
  .option('--url <base>', 'query a running server through the API instead (env ENGRAM_URL), e.g. http://127.0.0.1:8080')
  .option('--key <key>', 'API key for --url (env ENGRAM_API_KEY)')
  .argument('<query>', 'what to look for')
  .option('-k <n>', 'how many results', positiveInt, 10)
  .option('--as-of <time>', 'world time (ISO-8601 or epoch ms): only memories valid then')
  .option('--include-invalid', 'include expired (invalidated) memories')
  .option('--all', 'also include archived (faded) and expired memories')
  .addOption(new Option('--kind <kind...>', 'only these kinds').choices(['fact', 'preference', 'event', 'episode', 'summary', 'lesson']))
  .option('--json', 'print JSON')
  .action(async (query: string, opts) => searchCommand(opts, query, opts));

scoped('memories', "list a user's memories (active ones unless --all)")
  .option('--all', 'include invalidated, quarantined, rejected and archived memories')
  .option('--json', 'print JSON')
  .action(async (opts) => memoriesCommand(opts, opts));

scoped('memory', 'one memory with its sources and version history')
  .argument('<id>', 'memory id')
  .option('--json', 'print JSON')
  .action(async (id: string, opts) => memoryCommand(opts, id, opts));

scoped('graph', 'the entity neighbourhood of a name in the memory graph')
  .argument('<entity>', 'entity name')
  .option('--depth <n>', 'hops (1-3)', positiveInt, 1)
  .option('--json', 'print JSON')
  .action(async (entity: string, opts) => graphCommand(opts, entity, opts));

command('replay', 'drop every projection and rebuild it from the memory log (calls no model)').action(
  async (opts: { dataDir?: string }) => replayCommand(opts),
);

command('forget-pass', 'the forgetting pass: archive memories whose retention fell below the floor (ENGRAM_FORGET_*)')
  .option('--at <time>', 'the clock to use (ISO-8601 or epoch ms; default now): the pass is deterministic for a given clock')
  .action(async (opts: { dataDir?: string; at?: string }) => forgetPassCommand(opts, opts));

command('usage', 'language-model tokens metered for a tenant (when an LLM is configured)')
  .requiredOption('--tenant <id>', 'tenant id')
  .option('--json', 'print JSON')
  .action(async (opts: { dataDir?: string; tenant: string; json?: boolean }) => usageCommand(opts, opts));

const quarantine = program.command('quarantine').description('the guard\'s review queue: quarantined memories, approve or reject them');
quarantine
  .command('list')
  .description('quarantined memories of a tenant (or one user) with their reasons and quoted sources')
  .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
  .requiredOption('--tenant <id>', 'tenant id')
  .option('--user <id>', 'only this user')
  .option('--json', 'print JSON')
  .action(async (opts: { dataDir?: string; tenant: string; user?: string; json?: boolean }) => quarantineListCommand(opts, opts));
for (const [verb, approve] of [
  ['approve', true],
  ['reject', false],
] as const) {
  quarantine
    .command(verb)
    .description(approve ? 'release a quarantined memory (MemoryReleased, approved): it becomes active' : 'reject a quarantined memory for good (MemoryReleased, rejected)')
    .argument('<id>', 'memory id')
    .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--user <id>', 'user id')
    .requiredOption('--reason <text>', 'why (recorded in the event)')
    .option('--reviewer <name>', 'who decided (default $USER)')
    .action(async (id: string, opts: { dataDir?: string; tenant: string; user: string; reason: string; reviewer?: string }) =>
      quarantineReviewCommand(opts, id, approve, opts),
    );
}

scoped('lessons', 'lessons the guard distilled from attacks on a user\'s memory')
  .option('--json', 'print JSON')
  .action(async (opts: { dataDir?: string; tenant: string; user: string; json?: boolean }) => lessonsCommand(opts, opts));

program
  .command('guard')
  .description('A-MemGuard operations')
  .command('rescan')
  .description('run the current guard over past memory events; what it now catches is quarantined by new events')
  .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
  .option('--since <offset>', 'memory-events offset to start from, in every partition', nonNegativeInt, 0)
  .action(async (opts: { dataDir?: string; since: number }) => rescanCommand(opts, opts));

command('dlq', 'list dead-lettered conversation events with their reasons')
  .option('--json', 'print JSON')
  .action(async (opts) => dlqCommand(opts, opts));

command('mcp', 'serve the MCP tools (add_message, search_memories, get_memory, list_lessons, forget) over stdio for an agent')
  .requiredOption('--tenant <id>', 'tenant id (every tool acts within it)')
  .option('--user <id>', 'default user id, when a tool call names none')
  // Loaded on demand: the MCP SDK is only needed here.
  .action(async (opts: { dataDir?: string; tenant: string; user?: string }) => (await import('./mcp.js')).mcpCommand(opts, opts));

const keys = program.command('keys').description('API keys of the HTTP API (per tenant, stored hashed in the data directory)');
keys
  .command('create')
  .description('create an API key for a tenant; the key is printed once (on standard output) and cannot be shown again')
  .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
  .requiredOption('--tenant <id>', 'tenant id: the key reads and writes only this tenant')
  .option('--admin', 'admin scope: may also review quarantined memories and read watermarks')
  .option('--name <name>', 'a label (who or what uses the key)')
  .option('--json', 'print JSON (with the key)')
  .action(async (opts: { dataDir?: string; tenant: string; admin?: boolean; name?: string; json?: boolean }) => keysCreateCommand(opts, opts));
keys
  .command('list')
  .description('list API keys (never their secrets)')
  .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
  .option('--tenant <id>', 'only this tenant')
  .option('--json', 'print JSON')
  .action(async (opts: { dataDir?: string; tenant?: string; json?: boolean }) => keysListCommand(opts, opts));
keys
  .command('revoke')
  .description('revoke an API key: it stops working at once')
  .argument('<id>', 'key id (from keys list)')
  .addOption(new Option('--data-dir <dir>', 'data directory (env ENGRAM_DATA_DIR; default ./.engram)'))
  .action(async (id: string, opts: { dataDir?: string }) => keysRevokeCommand(opts, id));

command('serve', 'serve the HTTP API (/v1, keyed: see `engram keys`; OpenAPI at /openapi.json, docs at /docs; /healthz, /readyz); on the cluster profile, the API role')
  .option('--port <n>', 'port (env ENGRAM_PORT; default 8080)', port)
  .option('--host <host>', 'interface to listen on (env ENGRAM_HOST; default 127.0.0.1)')
  .action(async (opts: { dataDir?: string; port?: number; host?: string }) => serveCommand(opts, opts));

type Roles = typeof RolesModule;

/** A cluster-profile role (reads ENGRAM_* settings; see compose.yaml). Loaded on demand: the cluster clients are heavy. */
function role(name: string, description: string, pick: (roles: Roles) => (config: Config) => Promise<void>): void {
  command(name, `${description} (cluster profile: ENGRAM_PROFILE=cluster)`).action(async (opts: { dataDir?: string }) => {
    const config = loadConfig(process.env, { dataDir: opts.dataDir });
    return pick(await import('./roles.js'))(config);
  });
}

role('ingest', 'run the ingest bridge: conversation-events from Kafka to each user\'s Temporal workflow', (r) => r.ingestRole);
role('worker', 'run a Temporal worker for the memory workflow and its activities', (r) => r.workerRole);
role('project', 'run the projectors: memory-events into the memory store, Qdrant and Neo4j', (r) => r.projectRole);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = err instanceof EngramError && err.code === 'invalid_input' ? 2 : 1;
  process.stderr.write(`engram: ${describeError(err)}\n`);
  // Unexpected errors (not EngramErrors) are bugs: show where they came from.
  if (!(err instanceof EngramError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}
