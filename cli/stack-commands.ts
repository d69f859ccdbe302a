// `synthscale dev`, `synthscale worker` and `synthscale spec`: run the stack's pieces and check specs.
// What only one command needs is imported inside it (`spec` never loads Temporal).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineCommand } from 'citty';
import { PROJECT_ROOT } from './code-fingerprint.js';

function stackScript(command: string): Promise<void> {
  return new Promise((resolveDone, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'infra/stack.sh'), command], { stdio: 'inherit', cwd: PROJECT_ROOT });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveDone() : reject(new Error(`infra/stack.sh ${command} exited with ${code}`))));
  });
}

export const dev = defineCommand({
  meta: { name: 'dev', description: 'Start the embedded stack: a Temporal dev server (SQLite, UI on 8233) and the cpu, generate and train workers' },
  args: {
    stop: { type: 'boolean', description: 'stop the embedded stack instead', default: false },
    status: { type: 'boolean', description: 'say what of the stack is running', default: false },
  },
  async run({ args }) {
    if (args.stop) return stackScript('down');
    if (args.status) return stackScript('status');
    await stackScript('up');
    const ui = process.env.SYNTHSCALE_UI_PORT ?? '8233';
    const run = join(process.env.SYNTHSCALE_HOME ?? '.synthscale', 'run');
    console.log(`Temporal UI: http://localhost:${ui} (or http://127.0.0.1:${ui})   (workers log to ${run}/*.log)`);
    const { codecFromEnv } = await import('../core/payload-codec.js');
    if (codecFromEnv()) console.log(`Payloads are encrypted: the UI decodes them through the codec server the stack started (${run}/codec.log).`);
    console.log('Next: npx synthscale sweep start specs/demo.yaml --wait      Stop: npx synthscale dev --stop');
  },
});

const QUEUES = ['cpu', 'generate', 'train'] as const;

export const worker = defineCommand({
  meta: {
    name: 'worker',
    description: 'Run one worker process for a task queue, against TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE (TLS and API key from the Temporal CLI variables)',
  },
  args: {
    queue: { type: 'string', description: `task queue: ${QUEUES.join(' | ')}`, required: true },
    concurrency: { type: 'string', description: 'activities run at once (train: one per GPU process is the rule; generate: 1 per process)' },
    gpu: { type: 'string', description: "train/generate: pin this process to one GPU (sets CUDA_VISIBLE_DEVICES before TensorFlow loads)" },
  },
  async run({ args }) {
    const queue = args.queue as (typeof QUEUES)[number];
    if (!QUEUES.includes(queue)) throw new Error(`--queue must be one of ${QUEUES.join(', ')}, not "${args.queue}"`);
    if (args.concurrency !== undefined) {
      const n = Number(args.concurrency);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--concurrency must be a whole number from 1 to 256, not "${args.concurrency}"`);
      if (queue === 'cpu') throw new Error('--concurrency applies to the generate and train queues (the cpu worker runs light activities concurrently already)');
      process.env[queue === 'train' ? 'SYNTHSCALE_TRAIN_CONCURRENCY' : 'SYNTHSCALE_GENERATE_CONCURRENCY'] = String(n);
    }
    if (args.gpu !== undefined) {
      if (!/^\d+$/.test(args.gpu)) throw new Error(`--gpu takes a GPU index such as 0, not "${args.gpu}"`);
      process.env.CUDA_VISIBLE_DEVICES = args.gpu;
    }
    const { temporalEnvSummary } = await import('./temporal-errors.js');
    const env = temporalEnvSummary();
    console.log(`starting the ${queue} worker for ${env.address} namespace ${env.namespace} (auth: ${env.auth})`);
    // The prebuilt CLI (bin/build-cli.js) has no TypeScript loader; workers run from their sources.
    if ((globalThis as Record<symbol, unknown>)[Symbol.for('synthscale.cli.prebuilt')]) (await import('tsx/esm/api')).register();
    // The worker modules start at import, after the environment above is set.
    await import(pathToFileURL(join(PROJECT_ROOT, 'workers', `${queue}.ts`)).href);
  },
});

export const specCommand = defineCommand({
  meta: { name: 'spec', description: 'Validate a sweep spec; --json prints it with defaults filled, for `temporal workflow start --input-file`' },
  args: {
    file: { type: 'positional', description: 'sweep spec (.yaml or .json)', required: true },
    json: { type: 'boolean', description: 'print the validated spec as JSON', default: false },
  },
  async run({ args }) {
    const { loadSpecFile } = await import('./spec-file.js');
    const spec = await loadSpecFile(args.file);
    if (args.json) console.log(JSON.stringify(spec, null, 1));
    else console.log(`${args.file}: valid (sweep ${spec.sweepId}: ${spec.sources.length} sources, ${spec.sizes.length} sizes, ${spec.seeds.length} seeds, tasks ${spec.tasks.join('+')})`);
  },
});
