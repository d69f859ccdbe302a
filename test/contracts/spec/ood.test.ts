// The OOD suites' spec schemas (contracts/spec/ood.ts): defaults, strict keys, clear errors, ids.
// Run: node --import tsx --test test/core/image/ood-spec.test.ts
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { DEFAULT_OOD_SUITES, OOD_SUITE_NAMES, OodSelectionSchema, OodSuiteListSchema, OodSuiteSpecSchema, suiteId } from '../../../contracts/spec/ood.js';
import { SEVERITIES } from '../../core/image/ood-fixtures.js';

describe('schemas', () => {
  const message = (result: { success: boolean; error?: z.ZodError }) => (result.success ? '' : z.prettifyError(result.error!));

  test('spec: severity defaults to 3, strict keys', () => {
    assert.deepEqual(OodSuiteSpecSchema.parse({ suite: 'rotate' }), { suite: 'rotate', severity: 3 });
    assert.deepEqual(OodSuiteSpecSchema.parse({ suite: 'elastic', severity: 5 }), { suite: 'elastic', severity: 5 });
    assert.match(message(OodSuiteSpecSchema.safeParse({ suite: 'rotate', sevrity: 2 })), /sevrity/);
  });

  test('spec: unknown suites rejected, naming the known ones', () => {
    for (const suite of ['fog', 'Rotate', 3, undefined]) {
      const text = message(OodSuiteSpecSchema.safeParse({ suite }));
      assert.match(text, /unknown OOD suite/);
      for (const name of OOD_SUITE_NAMES) assert.ok(text.includes(name), text);
      assert.match(text, /at suite/);
    }
  });

  test('spec: severities outside 1..5 or not integers rejected', () => {
    for (const severity of [0, 6, -1, 2.5, '3', null]) {
      const text = message(OodSuiteSpecSchema.safeParse({ suite: 'rotate', severity }));
      assert.match(text, /OOD severity must be an integer from 1 to 5/, String(severity));
      assert.match(text, /at severity/);
    }
  });

  test('suiteId: stable, storage-safe, severity-free for invert', () => {
    assert.equal(suiteId({ suite: 'rotate', severity: 3 }), 'rotate-s3');
    assert.equal(suiteId({ suite: 'gaussian-noise', severity: 5 }), 'gaussian-noise-s5');
    assert.equal(suiteId({ suite: 'rotate' }), 'rotate-s3');
    assert.equal(suiteId({ suite: 'invert', severity: 4 }), 'invert');
    assert.throws(() => suiteId({ suite: 'rotate', severity: 9 }), /from 1 to 5/);
    const ids = OOD_SUITE_NAMES.flatMap((suite) => SEVERITIES.map((severity) => suiteId({ suite, severity })));
    for (const id of ids) assert.match(id, /^[a-z0-9][a-z0-9-]{0,62}$/);
    assert.equal(new Set(ids).size, ids.length - 4); // invert's five severities share one id
  });

  test('list: several severities of a suite allowed, duplicate ids rejected', () => {
    const ok = OodSuiteListSchema.parse([{ suite: 'rotate' }, { suite: 'rotate', severity: 5 }, { suite: 'invert' }]);
    assert.deepEqual(ok.map(suiteId), ['rotate-s3', 'rotate-s5', 'invert']);
    const dup = message(OodSuiteListSchema.safeParse([{ suite: 'rotate' }, { suite: 'contrast' }, { suite: 'rotate', severity: 3 }]));
    assert.match(dup, /duplicate OOD suite "rotate-s3"/);
    assert.match(dup, /at \[2\]/);
    assert.match(message(OodSuiteListSchema.safeParse([{ suite: 'invert', severity: 1 }, { suite: 'invert', severity: 5 }])), /invert ignores severity/);
    assert.match(message(OodSuiteListSchema.safeParse([{ suite: 'blur' }])), /unknown OOD suite "blur"; known suites: rotate, /);
  });

  test("selection: 'default', 'none' and explicit lists", () => {
    const defaults = OodSelectionSchema.parse('default');
    assert.deepEqual(defaults, DEFAULT_OOD_SUITES);
    assert.deepEqual(DEFAULT_OOD_SUITES.map((s) => s.suite), [...OOD_SUITE_NAMES]);
    assert.ok(DEFAULT_OOD_SUITES.every((s) => s.severity === 3));
    assert.ok(Object.isFrozen(DEFAULT_OOD_SUITES));
    defaults.pop(); // the parsed list is a copy
    assert.equal(DEFAULT_OOD_SUITES.length, OOD_SUITE_NAMES.length);
    assert.deepEqual(OodSelectionSchema.parse('none'), []);
    assert.deepEqual(OodSelectionSchema.parse([{ suite: 'pixelate', severity: 1 }]), [{ suite: 'pixelate', severity: 1 }]);
    assert.match(message(OodSelectionSchema.safeParse('all')), /ood must be 'default', 'none' or a list/);
    assert.match(message(OodSelectionSchema.safeParse([{ suite: 'noise' }])), /unknown OOD suite "noise"/);
  });
});
