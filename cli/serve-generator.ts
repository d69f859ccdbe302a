// `synthscale serve-generator`: serve the embedded generator over the AUTOMATIC1111 and OpenAI
// images APIs (activities/generate/generator-server.ts), for the 'a1111' and 'openai-images'
// generator backends to talk to. The model is a serialized GMM model file (at whatever geometry it
// was fitted), or fitted at start on the first --fit-images images of the dataset's generator pool:
// Fashion-MNIST at 28x28 grey, or with --dataset <fingerprint> a dataset the store has a
// descriptor for (a sweep's, e.g. an imported one), at its geometry and with its classes (with the
// spec's defaults this reproduces what the sweep's fitGenerator activity fits).
// Auth, from environment variables named on the command line (never the values: they would show in
// `ps`): --token-env, a bearer token; --api-auth-env USER_VAR:PASSWORD_VAR, HTTP Basic on the A1111
// routes as a web UI started with --api-auth user:pass wants (webuiapi's set_auth, the a1111
// backend's basicAuth).
import { defineCommand } from 'citty';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { datasetDescriptor, datasetFingerprint, depsFromEnv, loadDatasetSplit } from '../core/activity-deps.js';
import { geometryLabel } from '../core/image/geometry.js';
import { startGeneratorServer, type GeneratorServerLimits } from '../activities/generate/generator-server.js';
import type { BasicCredentials } from '../activities/generate/server/auth.js';
import { fitGmmGenerator } from '../activities/generate/gmm/fit.js';
import type { GmmGeneratorModel } from '../activities/generate/gmm/model.js';
import { deserializeGmmModel } from '../activities/generate/gmm/model-format.js';
import { FASHION_MNIST_CLASSES } from '../core/datasets/fashion-mnist.js';
import { generatorFitSet } from '../activities/generate/fit-set.js';
import { EmbeddedGeneratorSchema } from '../contracts/spec/sweep.js';

function positiveInt(name: string, raw: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new Error(`--${name}=${raw}: expected an integer in [${min}, ${max}]`);
  return v;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** --api-auth-env USER_VAR:PASSWORD_VAR: the Basic credentials from those two variables. */
export function basicFromEnv(spec: string, env: NodeJS.ProcessEnv): BasicCredentials {
  const [userVar, passwordVar, ...rest] = spec.split(':');
  if (rest.length > 0 || !userVar || !passwordVar || !ENV_NAME.test(userVar) || !ENV_NAME.test(passwordVar)) {
    // The value is not echoed: it may be the credentials themselves, typed by mistake.
    throw new Error('--api-auth-env: expected USER_VAR:PASSWORD_VAR, the names of two environment variables (not the credentials themselves)');
  }
  const user = env[userVar];
  const password = env[passwordVar];
  if (!user) throw new Error(`--api-auth-env: environment variable ${userVar} (the user) is not set or empty`);
  if (!password) throw new Error(`--api-auth-env: environment variable ${passwordVar} (the password) is not set or empty`);
  return { user, password };
}

async function loadModel(source: string): Promise<GmmGeneratorModel> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) {
    throw new Error(`--model ${source}: only local paths and file:// URIs are supported`);
  }
  const path = source.startsWith('file://') ? fileURLToPath(source) : source;
  return deserializeGmmModel(await readFile(path));
}

async function fitModel(count: number, pcaDims: number, componentsPerClass: number, fitSeed: number, dataset: string | undefined): Promise<GmmGeneratorModel> {
  // Like the fitGenerator activity: only the dataset's generator split, never a real source's pool.
  const deps = depsFromEnv();
  const descriptor = dataset === undefined ? null : await datasetDescriptor(deps, dataset);
  if (dataset !== undefined && !descriptor) throw new Error(`--dataset ${dataset}: the store (${deps.store.root}) has no descriptor of that fingerprint`);
  const fingerprint = descriptor ? descriptor.fingerprint : await datasetFingerprint(deps);
  const train = await loadDatasetSplit(deps, descriptor ? fingerprint : undefined, 'train');
  const classes = descriptor ? descriptor.classes : [...FASHION_MNIST_CLASSES];
  const subset = generatorFitSet(train, fingerprint, Math.min(count, Math.floor(train.count / 2)));
  console.log(`  fit: ${subset.count} images of ${descriptor?.title ?? 'Fashion-MNIST'} at ${geometryLabel(train.geometry)}, ${classes.length} classes`);
  return fitGmmGenerator(subset, { pcaDims, componentsPerClass, fitSeed }, classes, (m) => console.log(`  fit: ${m}`));
}

export const serveGenerator = defineCommand({
  meta: {
    name: 'serve-generator',
    description: 'Serve the embedded generator over the AUTOMATIC1111 (/sdapi/v1/txt2img) and OpenAI (/v1/images/generations) APIs',
  },
  args: {
    host: { type: 'string', description: 'address to bind (loopback by default)', default: '127.0.0.1' },
    port: { type: 'string', description: "port (A1111's default)", default: '7860' },
    model: { type: 'string', description: 'serialized GMM model (path or file:// URI); otherwise one is fitted at start' },
    dataset: { type: 'string', description: 'fit on this dataset fingerprint (its descriptor in the store) instead of Fashion-MNIST' },
    'fit-images': { type: 'string', description: 'training images to fit on when no --model is given', default: '10000' },
    'pca-dims': { type: 'string', description: 'PCA dimensions of the fitted model (spec default)' },
    components: { type: 'string', description: 'mixture components per class of the fitted model (spec default)' },
    'fit-seed': { type: 'string', description: 'seed of the fit (spec default)' },
    'token-env': { type: 'string', description: 'require a bearer token, read from this environment variable' },
    'api-auth-env': { type: 'string', description: 'USER_VAR:PASSWORD_VAR: require HTTP Basic on the A1111 routes (like A1111 --api-auth), user and password read from these environment variables' },
    'max-n': { type: 'string', description: 'images per request' },
    'max-side': { type: 'string', description: 'largest width or height' },
    'max-steps': { type: 'string', description: 'most sampler steps' },
    'max-body-bytes': { type: 'string', description: 'largest request body (larger ones get 413)' },
  },
  async run({ args }) {
    const defaults = EmbeddedGeneratorSchema.parse({ name: 'embedded-gmm' });
    const port = positiveInt('port', args.port, 7860, 65535);
    let token: string | undefined;
    if (args['token-env']) {
      token = process.env[args['token-env']];
      if (!token) throw new Error(`--token-env ${args['token-env']}: that environment variable is not set or empty`);
    }
    const basic = args['api-auth-env'] ? basicFromEnv(args['api-auth-env'], process.env) : undefined;
    let model: GmmGeneratorModel;
    if (args.model) {
      model = await loadModel(args.model);
      console.log(`model: ${args.model} (${model.trainCount} training images at ${geometryLabel(model.geometry)}, ${model.pcaDims} PCA dims, ${model.componentsPerClass} comps/class)`);
    } else {
      const count = positiveInt('fit-images', args['fit-images'], 10000, 60000, 2);
      const pcaDims = positiveInt('pca-dims', args['pca-dims'], defaults.pcaDims, 256, 1);
      const components = positiveInt('components', args.components, defaults.componentsPerClass, 64, 1);
      const fitSeed = positiveInt('fit-seed', args['fit-seed'], defaults.fitSeed);
      console.log(`fitting on ${count} ${args.dataset ? `images of dataset ${args.dataset}` : 'Fashion-MNIST training images'} (${pcaDims} PCA dims, ${components} comps/class, seed ${fitSeed})...`);
      model = await fitModel(count, pcaDims, components, fitSeed, args.dataset || undefined);
    }
    const limits: Partial<GeneratorServerLimits> = {};
    if (args['max-n']) limits.maxN = positiveInt('max-n', args['max-n'], 8, 1024, 1);
    if (args['max-side']) limits.maxWidth = limits.maxHeight = positiveInt('max-side', args['max-side'], 2048, 16384, 1);
    if (args['max-steps']) limits.maxSteps = positiveInt('max-steps', args['max-steps'], 150, 1000, 1);
    if (args['max-body-bytes']) limits.maxBodyBytes = positiveInt('max-body-bytes', args['max-body-bytes'], 256 * 1024, 64 * 1024 * 1024, 1024);
    const server = await startGeneratorServer({
      model,
      host: args.host,
      port,
      limits,
      ...(token ? { token } : {}),
      ...(basic ? { basic } : {}),
      log: (line) => console.log(line),
    });
    console.log(`serving ${server.url}`);
    console.log(`  AUTOMATIC1111: POST ${server.url}/sdapi/v1/txt2img   (generator: { name: a1111, baseUrl: ${server.url} })`);
    console.log(`  OpenAI images: POST ${server.url}/v1/images/generations   (generator: { name: openai-images, baseUrl: ${server.url}/v1 })`);
    console.log(`  OpenAPI 3.1:   GET  ${server.url}/openapi.json   (limits included; fuzz it with: bash infra/schemathesis.sh run ${server.url})`);
    const auth = [
      ...(basic ? [`Basic (--api-auth style) on the A1111 routes${token ? '' : ' and the OpenAI routes'}, user and password from $${args['api-auth-env']!.split(':').join(' and $')}`] : []),
      ...(token ? [`bearer token from $${args['token-env']}`] : []),
    ];
    console.log(`  auth: ${auth.length ? auth.join('; ') : 'none'}`);
    if (!token && !basic && !['127.0.0.1', 'localhost', '::1'].includes(args.host)) console.log(`  warning: listening on ${args.host} without a token`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    console.log('stopped');
  },
});
