// Bootstrap of the graph worker process: it is started without the parent's loader flags, so it
// registers tsx itself before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./graph-worker.ts');
