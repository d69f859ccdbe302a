// HTTP Basic as real AUTOMATIC1111 servers use it (`--api-auth user:pass`), checked with the client
// people use against them: PyPI webuiapi (infra/webuiapi.sh) drives `synthscale serve-generator
// --api-auth-env USER_VAR:PASSWORD_VAR` (a real process on a free loopback port, a tiny model file)
// through txt2img without auth, with a wrong password, a wrong user, then with its own
// set_auth(user, password): 401 with `WWW-Authenticate: Basic` for the first three, an image for
// the last. The server's output must never hold the password. Then schemathesis (as in
// generator-fuzz.test.ts) fuzzes the same server with that Basic header, so the OpenAPI document's
// Basic scheme is what the server enforces (its ignored_auth check sends requests without it).
// Without webuiapi (or schemathesis) a test skips, or with CI=true fails with the fix
// (`bash infra/webuiapi.sh ensure`, `bash infra/schemathesis.sh ensure`).
// Run: node --import tsx --test test/integration/a1111-auth.test.ts
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { fitGmmGenerator, serializeGmmModel } from '../../activities/generate/gmm-diffusion.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS } from '../../core/datasets/fashion-mnist.js';
import { freePort, ROOT } from './stack.js';

const inCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const USER = 'sweeper';
const PASSWORD = 'Secr3t pass:7c2e19'; // a space and a ':' (A1111 splits user:password at the first ':')

async function webuiapiPython(): Promise<{ python?: string; missing?: string }> {
  try {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'infra/webuiapi.sh'), 'python'], { cwd: ROOT });
    return { python: stdout.trim() };
  } catch (err) {
    return { missing: String((err as { stderr?: string }).stderr || (err as Error).message).trim().replace(/^\[webuiapi\] /gm, '') };
  }
}
const { python, missing } = await webuiapiPython();
const EXAMPLES = Number(process.env.SYNTHSCALE_FUZZ_EXAMPLES ?? 25);

async function schemathesisMissing(): Promise<string | undefined> {
  try {
    await promisify(execFile)('bash', [join(ROOT, 'infra/schemathesis.sh'), 'path'], { cwd: ROOT });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: string }).stderr || (err as Error).message).trim().replace(/^\[schemathesis\] /gm, '');
  }
}
const fuzzMissing = await schemathesisMissing();

// webuiapi's txt2img raises RuntimeError(status, text) on a non-200; each case prints one JSON line.
// Credentials come from the environment, never argv.
const CLIENT = String.raw`
import json, os, sys, importlib.metadata
import webuiapi, requests
host, port = sys.argv[1], int(sys.argv[2])
user, password = os.environ["A1111_USER"], os.environ["A1111_PASSWORD"]
def case(name, api):
    try:
        r = api.txt2img(prompt="a leather bag", seed=1234, steps=4, cfg_scale=3, width=64, height=48)
        print(json.dumps({"case": name, "ok": True, "size": list(r.image.size), "seed": r.info.get("seed"), "images": len(r.images)}))
    except RuntimeError as e:
        print(json.dumps({"case": name, "ok": False, "status": e.args[0], "body": str(e.args[1])[:200]}))
print(json.dumps({"case": "version", "webuiapi": importlib.metadata.version("webuiapi")}))
api = webuiapi.WebUIApi(host=host, port=port)
case("no-auth", api)
raw = requests.post(f"http://{host}:{port}/sdapi/v1/txt2img", json={"prompt": "x", "steps": 1, "width": 8, "height": 8}, timeout=30)
print(json.dumps({"case": "challenge", "status": raw.status_code, "www-authenticate": raw.headers.get("WWW-Authenticate")}))
api.set_auth(user, password + "-wrong")
case("wrong-password", api)
api.set_auth(user + "x", password)
case("wrong-user", api)
api.set_auth(user, password)
case("set_auth", api)
print(json.dumps({"case": "sd-models", "titles": [m["model_name"] for m in api.get_sd_models()]}))
`;

function tinyModelBytes(): Uint8Array {
  const n = 200;
  let x = 4242;
  const images = new Uint8Array(n * IMAGE_PIXELS).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  return serializeGmmModel(fitGmmGenerator({ images, labels, count: n }, { pcaDims: 6, componentsPerClass: 1, fitSeed: 0 }, [...FASHION_MNIST_CLASSES]));
}

/** Start `synthscale serve-generator` and resolve once it prints its URL. */
function startServeGenerator(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'serve-generator', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve-generator did not start within 60 s:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/^serving http:\/\//m.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve-generator exited ${code}:\n${output}`));
    });
  });
}

let dir: string;
let port: number;
let server: { child: ChildProcess; output: () => string } | undefined;
const env = { ...process.env, A1111_USER: USER, A1111_PASSWORD: PASSWORD };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-a1111-auth-'));
  const modelPath = join(dir, 'model.gmm');
  await writeFile(modelPath, tinyModelBytes());
  port = await freePort();
  const limits = ['--max-n', '3', '--max-side', '64', '--max-steps', '6', '--max-body-bytes', String(64 * 1024)];
  server = await startServeGenerator(['--port', String(port), '--model', modelPath, '--api-auth-env', 'A1111_USER:A1111_PASSWORD', ...limits], env);
});

after(async () => {
  if (server && server.child.exitCode === null) {
    const exited = new Promise((resolve) => server!.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('webuiapi set_auth (HTTP Basic) against serve-generator --api-auth-env', { skip: missing && !inCI ? `webuiapi not installed: ${missing}` : false, timeout: 120_000 }, async (t) => {
  assert.equal(missing, undefined, `webuiapi is not installed: ${missing}`);
  const started = Date.now();
  const { stdout } = await promisify(execFile)(python!, ['-c', CLIENT, '127.0.0.1', String(port)], { cwd: dir, env, timeout: 90_000 });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = stdout.trim().split('\n');
  const cases = Object.fromEntries(lines.map((line) => JSON.parse(line) as { case: string } & Record<string, unknown>).map((c) => [c.case, c]));
  for (const line of lines) t.diagnostic(line);
  t.diagnostic(`webuiapi ${String(cases.version?.webuiapi)} run in ${seconds} s`);
  assert.equal(cases.version?.webuiapi, '0.9.17');
  for (const name of ['no-auth', 'wrong-password', 'wrong-user']) {
    assert.equal(cases[name]?.ok, false, `${name} must be refused`);
    assert.equal(cases[name]?.status, 401, name);
    assert.match(String(cases[name]?.body), /missing or invalid Basic credentials/, name);
  }
  assert.deepEqual(cases.challenge, { case: 'challenge', status: 401, 'www-authenticate': 'Basic realm="synthscale"' });
  assert.deepEqual(cases.set_auth, { case: 'set_auth', ok: true, size: [64, 48], seed: 1234, images: 1 });
  assert.deepEqual(cases['sd-models']?.titles, ['synthscale-embedded-gmm']);
  const output = server!.output();
  assert.match(output, /auth: Basic \(--api-auth style\) on the A1111 routes and the OpenAI routes, user and password from \$A1111_USER and \$A1111_PASSWORD/);
  assert.ok(!output.includes(PASSWORD), 'the password must not appear in the server output');
});

test('schemathesis with Basic credentials finds no failure in serve-generator with Basic auth', { skip: fuzzMissing && !inCI ? `schemathesis not installed: ${fuzzMissing}` : false, timeout: 180_000 }, async (t) => {
  assert.equal(fuzzMissing, undefined, `schemathesis is not installed: ${fuzzMissing}`);
  const started = Date.now();
  const run = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('bash', ['infra/schemathesis.sh', 'run', `http://127.0.0.1:${port}`, String(EXAMPLES), '--workers', '1', '--header', `Authorization: Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  t.diagnostic(`schemathesis (${EXAMPLES} examples per operation, Basic auth) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const line of run.output.split('\n').filter((l) => /passed|failed|error|skipped|Test cases|API Operations/i.test(l)).slice(-12)) t.diagnostic(line);
  assert.equal(run.code, 0, `schemathesis exited ${run.code}:\n${run.output.slice(-8000)}`);
  const log = server!.output();
  assert.match(log, / 401 missing or invalid Basic credentials/, 'requests without auth were sent and refused');
  assert.ok(!/ failed: /.test(log), 'the server threw while handling a request');
  assert.ok(!/ 5\d\d /.test(log.split('\n').filter((l) => /^(GET|POST|PUT|DELETE|PATCH) /.test(l)).join('\n')), 'no 5xx answers');
  assert.ok(!log.includes(PASSWORD), 'the password must not appear in the server output');
});
