/**
 * The `engram` command line. Every command validates its input, prints `code: message` for
 * known errors (never a bare stack trace) and exits non-zero on failure.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, EngramError } from '../../core/errors.js';
import { runDemo } from './demo.js';
import { publishCommand, searchCommand, memoriesCommand, memoryCommand, graphCommand, replayCommand, serveCommand, processCommand, dlqCommand } from './commands.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command()
  .name('engram')
  .description('Event-sourced memory for AI agents: durable, replayable, auditable, guarded against poisoning.')
  .version('0.1.0')
  .option('--data-dir <dir>', 'where Engram keeps its data (env ENGRAM_DATA_DIR)', undefined)
  .showHelpAfterError('(run with --help for usage)');

program
  .command('demo')
  .description('ingest the example conversations through the full pipeline and show what was learnt')
  .option('--data-dir <dir>', 'data directory for the demo', './.engram-demo')
  .option('--examples <dir>', 'folder of example .jsonl conversations')
  .action(async (opts: { dataDir: string; examples?: string }) => runDemo(opts));

program
  .command('publish')
  .description('publish conversation events from a JSON Lines file, then process them (unless --no-process)')
  .argument('<file>', 'a .jsonl file: one conversation event per line ("-" for standard input)')
  .option('--no-process', 'only append to the log; do not run the pipeline')
  .action(async (file: string, opts: { process: boolean }) => publishCommand(program.opts(), file, opts));

program
  .command('process')
  .description('run the pipeline until every published event is processed and projected')
  .action(async () => processCommand(program.opts()));

const scopeOptions = (cmd: Command): Command =>
  cmd.requiredOption('--tenant <id>', 'tenant id').requiredOption('--user <id>', 'user id (the memory subject)');

scopeOptions(
  program
    .command('search')
    .description("hybrid search (dense + BM25) over a user's memories")
    .argument('<query>', 'what to look for'),
)
  .option('-k <n>', 'how many results', positiveInt, 10)
  .option('--as-of <time>', 'world time (ISO-8601 or epoch ms): only memories valid then')
  .option('--include-invalid', 'include expired (invalidated) memories')
  .addOption(new Option('--kind <kind...>', 'only these kinds').choices(['fact', 'preference', 'event', 'episode', 'summary', 'lesson']))
  .option('--json', 'print JSON')
  .action(async (query: string, opts) => searchCommand(program.opts(), query, opts));

scopeOptions(program.command('memories').description("list a user's memories (active ones unless --all)"))
  .option('--all', 'include invalidated, quarantined and rejected memories')
  .option('--json', 'print JSON')
  .action(async (opts) => memoriesCommand(program.opts(), opts));

scopeOptions(
  program.command('memory').description('one memory with its sources and version history').argument('<id>', 'memory id'),
)
  .option('--json', 'print JSON')
  .action(async (id: string, opts) => memoryCommand(program.opts(), id, opts));

scopeOptions(
  program.command('graph').description('the entity neighbourhood of a name in the memory graph').argument('<entity>', 'entity name'),
)
  .option('--depth <n>', 'hops (1-3)', positiveInt, 1)
  .option('--json', 'print JSON')
  .action(async (entity: string, opts) => graphCommand(program.opts(), entity, opts));

program
  .command('replay')
  .description('drop every projection and rebuild it from the memory log (calls no model)')
  .action(async () => replayCommand(program.opts()));

program
  .command('dlq')
  .description('list dead-lettered conversation events with their reasons')
  .option('--json', 'print JSON')
  .action(async (opts) => dlqCommand(program.opts(), opts));

program
  .command('serve')
  .description('serve the HTTP API (POST /v1/events, GET /v1/search, GET /v1/memories/:id, GET /healthz)')
  .option('--port <n>', 'port (env ENGRAM_PORT)', (v) => Number(v))
  .option('--host <host>', 'interface to listen on (env ENGRAM_HOST)')
  .action(async (opts: { port?: number; host?: string }) => serveCommand(program.opts(), opts));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = err instanceof EngramError && err.code === 'invalid_input' ? 2 : 1;
  process.stderr.write(`engram: ${describeError(err)}\n`);
  // Unexpected errors (not EngramErrors) are bugs: show where they came from.
  if (!(err instanceof EngramError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}
