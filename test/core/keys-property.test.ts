// Property-based tests (fast-check) of where user-given names meet storage:
// (a) spec validation: any object or text gives a spec or a SpecError, never another exception, and
//     a hostile name is reported at its field's path; a name the spec accepts is a valid key segment;
// (b) keys: keySegment / joinKey / assertSafeKey either refuse (naming the field) or give a key that
//     stays inside a FileStore root once joined and resolved; GcsStore.uri / keyOf never leave the prefix.
// Runs are bounded (numRuns) so the file takes a few seconds.
// Run: node --import tsx --test test/keys-property.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { GcsStore } from '../../core/gcs-store.js';
import { joinKey, keySegment, MAX_SEGMENT_LENGTH, UnsafeKeyError } from '../../core/keys.js';
import { parseSpecText, SpecError, validateSpec } from '../../contracts/spec/sweep.js';
import { assertSafeKey, openStore, QUARANTINE_NOTE_SUFFIX, quarantineKeyFor } from '../../core/storage.js';

const RUNS = { numRuns: 500, seed: Number(process.env.FC_SEED ?? 20260501) };
const FEWER = { ...RUNS, numRuns: 150 };
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const minimal = {
  sweepId: 'ok-sweep',
  dataset: 'fashion-mnist',
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2 },
    { name: 'mix', kind: 'mixed', real: 'real', synthetic: 'syn', syntheticPerReal: 1 },
  ],
  sizes: [100],
  seeds: [0],
  eval: [{ name: 'test', split: 'test' }],
};

// Pieces of path attacks, encodings and look-alikes, joined into names.
const ATOMS = [
  '../', '..', '.', '/', '//', '\\', '..\\', '\u0000', '%2e%2e', '%2f', '%00', '\u2025', '\uff0e\uff0e', '\u2215', 'C:', 'c:\\',
  '~', ' ', '\n', '\r', '\t', '\u007f', '\u202e', 'a', 'Z', '0', '-', '_', '=', '.sha256', '.tmp-1', 'file://', 'gs://b/', '?', '#', '*',
];
const adversarial = fc.oneof(
  fc.array(fc.constantFrom(...ATOMS), { minLength: 0, maxLength: 8 }).map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('', '/', '../', '/etc/'), fc.string({ unit: 'grapheme-ascii', maxLength: 12 })).map(([a, b]) => a + b),
  fc.integer({ min: 100, max: 700 }).map((n) => 'a'.repeat(n)),
  fc.string({ minLength: 120, maxLength: 600, unit: 'grapheme-ascii' }),
);
const anyString = fc.oneof(
  { weight: 2, arbitrary: adversarial },
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.stringMatching(/^[A-Za-z0-9._=-]{1,20}$/),
);

function issuesOf(fn: () => unknown): { path: string; message: string }[] | 'valid' {
  try {
    fn();
    return 'valid';
  } catch (err) {
    if (!(err instanceof SpecError)) throw new Error(`not a SpecError: ${String(err)}`);
    assert.ok(err.issues.length > 0 || /larger than|not valid/.test(err.message), err.message);
    for (const issue of err.issues) {
      assert.equal(typeof issue.path, 'string');
      assert.ok(issue.path.length > 0);
      assert.equal(typeof issue.message, 'string');
    }
    return err.issues;
  }
}

/** Inside `root` (not the root itself), with no '..' step. */
function insideRoot(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !isAbsolute(rel) && !rel.split(sep).includes('..') && path.startsWith(root + sep);
}

test('(a) validateSpec: any value is a spec or a SpecError with field paths', () => {
  const anything = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
    maxDepth: 4,
  });
  fc.assert(fc.property(anything, (raw) => void issuesOf(() => validateSpec(raw))), RUNS);
  // Close to valid: each top-level field of a valid spec replaced by anything.
  const keys = Object.keys(minimal) as (keyof typeof minimal)[];
  fc.assert(
    fc.property(fc.constantFrom(...keys), anything, (key, value) => {
      const issues = issuesOf(() => validateSpec({ ...minimal, [key]: value }));
      if (issues !== 'valid') assert.ok(issues.some((i) => i.path === key || i.path.startsWith(`${key}.`)), `${key}: ${JSON.stringify(issues)}`);
    }),
    RUNS,
  );
});

test('(a) a hostile name is reported at its field; a name the spec accepts is a safe key segment', () => {
  const fields: [string, (name: string) => unknown][] = [
    ['sweepId', (n) => ({ ...minimal, sweepId: n })],
    ['sources.0.name', (n) => ({ ...minimal, sources: [{ name: n, kind: 'real' }, minimal.sources[1], { ...minimal.sources[2], real: n }] })],
    ['sources.1.name', (n) => ({ ...minimal, sources: [minimal.sources[0], { ...minimal.sources[1], name: n }, { ...minimal.sources[2], synthetic: n }] })],
    ['sources.2.real', (n) => ({ ...minimal, sources: [...minimal.sources.slice(0, 2), { ...minimal.sources[2], real: n }] })],
    ['sources.2.synthetic', (n) => ({ ...minimal, sources: [...minimal.sources.slice(0, 2), { ...minimal.sources[2], synthetic: n }] })],
    ['eval.0.name', (n) => ({ ...minimal, eval: [{ name: n, split: 'test' }] })],
  ];
  // Spec errors name a list entry by its name when it has a valid one (`sources[mix].real`), else by index.
  const atField = (path: string, field: string, raw: unknown) => {
    if (path === field) return true;
    const [list, index, ...rest] = field.split('.');
    const entry = (raw as Record<string, { name?: unknown }[]>)[list!]?.[Number(index)];
    return typeof entry?.name === 'string' && path === `${list}[${entry.name}].${rest.join('.')}`;
  };
  fc.assert(
    fc.property(fc.constantFrom(...fields), fc.oneof(anyString, fc.stringMatching(NAME)), ([field, build], name) => {
      const raw = build(name);
      const issues = issuesOf(() => validateSpec(raw));
      if (NAME.test(name) && !(field === 'eval.0.name' && name.startsWith('ood-'))) {
        // Accepted by the spec (a mix's parts must name a source of the right kind, though).
        if (issues !== 'valid') assert.ok(field.startsWith('sources.2.') && issues.every((i) => atField(i.path, field, raw)), JSON.stringify(issues));
        assert.equal(keySegment(name, field), name);
      } else {
        assert.notEqual(issues, 'valid', `accepted ${JSON.stringify(name)} as ${field}`);
        assert.ok((issues as { path: string }[]).some((i) => atField(i.path, field, raw)), `${field} not named: ${JSON.stringify(issues)}`);
      }
    }),
    RUNS,
  );
});

test('(a) parseSpecText: any YAML or JSON text is a spec or a SpecError', () => {
  const yamlish = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.array(fc.constantFrom('sweepId: ', '../x', '&a [1]', '*a', '!!binary', '? ', '- ', '{', '}', '[', ']', ':', '\n', '  ', '"', "'", '%YAML 1.2\n', '---\n', '!!js/function "x"', '<<: *a'), { maxLength: 20 }).map((p) => p.join('')),
    fc.jsonValue().map((v) => `sweepId: ok\ndataset: fashion-mnist\nsources: ${JSON.stringify(v)}\nsizes: [100]\nseeds: [0]\n`),
  );
  fc.assert(
    fc.property(yamlish, fc.constantFrom('spec.yaml', 'spec.json'), (text, origin) => {
      const issues = issuesOf(() => parseSpecText(text, origin));
      if (issues !== 'valid' && issues.length === 1 && issues[0]!.path === '(root)' && issues[0]!.message === 'parse error') return;
    }),
    RUNS,
  );
});

test('(b) keySegment: a clear error naming the field, or the name unchanged and safe under a root', () => {
  const root = resolve(tmpdir(), 'synthscale-root');
  fc.assert(
    fc.property(anyString, fc.constantFrom('sweepId', 'sources.name', 'evalSet'), (value, field) => {
      let segment: string;
      try {
        segment = keySegment(value, field);
      } catch (err) {
        assert.ok(err instanceof UnsafeKeyError, String(err));
        assert.equal(err.field, field);
        assert.ok(err.message.startsWith(`${field} `), err.message);
        assert.ok(err.message.length < 400, 'bounded message');
        assert.doesNotMatch(err.message, /[\u0000-\u001f]/, 'control characters escaped');
        return;
      }
      assert.equal(segment, value);
      assert.match(segment, /^[A-Za-z0-9._=-]+$/);
      assert.ok(segment.length <= MAX_SEGMENT_LENGTH && segment !== '.' && segment !== '..');
      assert.ok(insideRoot(root, resolve(root, segment)));
      assert.equal(resolve(root, segment), join(root, segment));
    }),
    RUNS,
  );
  for (const bad of ['', '.', '..', '../x', '/abs', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(129), '%2e%2e', 'n.sha256']) {
    assert.throws(() => keySegment(bad, 'sweepId'), (err: unknown) => err instanceof UnsafeKeyError && /^sweepId /.test(err.message));
  }
  assert.throws(() => keySegment(42, 'sweepId'), /sweepId must be a string/);
});

test('(b) joinKey and assertSafeKey: refused, or resolved inside a FileStore root', () => {
  const root = resolve(tmpdir(), 'synthscale-root');
  const parts = fc.array(
    fc.oneof(anyString, fc.stringMatching(/^[a-z0-9._=-]{1,12}(\/[a-z0-9._=-]{1,12}){0,3}$/), fc.stringMatching(/^[a-z0-9]{150,200}$/)),
    { minLength: 1, maxLength: 5 },
  );
  fc.assert(
    fc.property(parts, (ps) => {
      let key: string;
      try {
        key = joinKey(...ps);
      } catch (err) {
        assert.ok(err instanceof UnsafeKeyError, String(err));
        assert.throws(() => assertSafeKey(ps.join('/')), UnsafeKeyError, 'joinKey and assertSafeKey agree');
        return;
      }
      assert.equal(key, ps.join('/'));
      assertSafeKey(key);
      const path = resolve(root, ...key.split('/'));
      assert.ok(insideRoot(root, path), `${key} -> ${path}`);
      assert.equal(path, join(root, ...key.split('/')), 'no normalisation changed the path');
      // Whatever key is stored can be quarantined under a safe key (even with a collision suffix).
      assertSafeKey(`${quarantineKeyFor(key, new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)))}-99${QUARANTINE_NOTE_SUFFIX}`);
    }),
    RUNS,
  );
  assert.throws(() => joinKey(), UnsafeKeyError);
});

test('(b) FileStore: uri/keyOf refuse or stay in the root, and real puts land inside it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-prop-'));
  try {
    const store = openStore(dir);
    const rootDir = fileURLToPath(store.root);
    fc.assert(
      fc.property(anyString, (key) => {
        let uri: string;
        try {
          uri = store.uri(key);
        } catch (err) {
          assert.ok(err instanceof UnsafeKeyError, String(err));
          return;
        }
        assert.ok(insideRoot(rootDir, fileURLToPath(uri)), `${key} -> ${uri}`);
        assert.equal(store.keyOf(uri), key);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(anyString, (tail) => {
        for (const uri of [`${store.root}/${tail}`, tail, `file://${tail}`]) {
          let key: string;
          try {
            key = store.keyOf(uri);
          } catch {
            continue;
          }
          assert.equal(store.uri(key), uri);
          assert.ok(insideRoot(rootDir, fileURLToPath(uri)));
        }
      }),
      RUNS,
    );
    // Real I/O: whatever is accepted is written and listed inside the root, and read back.
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyString, fc.stringMatching(/^[a-z0-9._=-]{1,10}(\/[a-z0-9._=-]{1,10}){0,2}$/)), async (key) => {
        let put;
        try {
          put = await store.put(`p/${key}`, new TextEncoder().encode(key));
        } catch (err) {
          if (err instanceof UnsafeKeyError) return;
          // A key whose prefix is an existing object (a/b then a/b/c) is a file-system conflict, not an escape.
          if (['ENOTDIR', 'EEXIST', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
          throw err;
        }
        assert.ok(insideRoot(rootDir, fileURLToPath(put.uri)));
        assert.equal(new TextDecoder().decode(await store.get(`p/${key}`)), key);
      }),
      FEWER,
    );
    for (const key of await store.list('')) assert.ok(insideRoot(rootDir, resolve(rootDir, ...key.split('/'))), key);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('(b) GcsStore: uri and keyOf never produce an object name outside the prefix', () => {
  for (const rootUri of ['gs://synthscale-bucket/runs/r1', 'gs://synthscale-bucket']) {
    const store = new GcsStore(rootUri);
    const objectName = (key: string) => (store.prefix ? `${store.prefix}/${key}` : key);
    const check = (key: string) => {
      const name = objectName(key);
      if (store.prefix) assert.ok(name.startsWith(`${store.prefix}/`));
      assert.equal(posix.normalize(name), name, `${name} is normalised (no '.', '..' or '//')`);
      assert.ok(!name.startsWith('/') && !name.includes('\\'));
      assert.equal(store.uri(key), `${store.root}/${key}`);
    };
    fc.assert(
      fc.property(anyString, (key) => {
        try {
          store.uri(key);
        } catch (err) {
          assert.ok(err instanceof UnsafeKeyError, String(err));
          return;
        }
        check(key);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(anyString, fc.constantFrom(`${store.root}/`, `${store.root}`, 'gs://synthscale-bucket/', 'gs://synthscale-bucket/runs/r10/', 'gs://other-bucket/runs/r1/', ''), (tail, head) => {
        let key: string;
        try {
          key = store.keyOf(head + tail);
        } catch {
          return;
        }
        assert.ok((head + tail).startsWith(`${store.root}/`));
        check(key);
      }),
      RUNS,
    );
  }
  // Hostile roots are refused up front.
  for (const bad of ['gs://synthscale-bucket/../x', 'gs://synthscale-bucket/a//b', 'gs://synthscale-bucket/%2e%2e', 'gs://Bad_Bucket/x']) {
    assert.throws(() => new GcsStore(bad), /storage root/);
  }
});
