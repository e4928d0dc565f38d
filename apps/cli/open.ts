import { loadConfig, type Config } from '../../infra/config.js';
import { Engine } from '../engine.js';

/** Global CLI options. */
export interface GlobalOptions {
  readonly dataDir?: string;
}

/** Loads the config (env + flags) and opens the engine; readers do not create a data directory. */
export async function openEngine(globals: GlobalOptions, create: boolean, flags: Partial<Record<keyof Config, unknown>> = {}): Promise<Engine> {
  const config = loadConfig(process.env, { dataDir: globals.dataDir, ...flags });
  return Engine.open(config, { create });
}

/** Opens the engine, runs `fn`, and always closes it. */
export async function withEngine<T>(globals: GlobalOptions, create: boolean, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(globals, create);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
