/**
 * The `engram` command line. Every command validates its input, prints `code: message` for
 * known errors (never a bare stack trace) and exits non-zero on failure.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, EngramError } from '../../core/errors.js';
import { runDemo } from './demo.js';
import type * as RolesModule from './roles.js';
import { loadConfig, type Config } from '../../infra/config.js';
import {
  dlqCommand,
  forgetPassCommand,
  graphCommand,
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

scoped('search', "hybrid search (dense + BM25) over a user's memories")
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

command('dlq', 'list dead-lettered conversation events with their reasons')
  .option('--json', 'print JSON')
  .action(async (opts) => dlqCommand(opts, opts));

command('serve', 'serve the HTTP API (POST /v1/events, GET /v1/search, GET /v1/memories/:id, GET /healthz, GET /readyz); on the cluster profile, the API role')
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
