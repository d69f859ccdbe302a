// The documented GitHub Actions workflow parses, runs the project's CI entry point, and reruns a
// spec that exists with the CLI command that exists; secrets reach it only through env.
// Run: node --import tsx --test test/ci-workflow.test.ts
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadSpecFile } from '../../cli/spec-file.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('infra/github-actions/synthscale.yml: CI job runs .ci/run, the main-branch job reruns a valid spec', async () => {
  const workflow = parse(await readFile(join(ROOT, 'infra/github-actions/synthscale.yml'), 'utf8')) as {
    jobs: Record<string, { steps: { run?: string; uses?: string }[]; env?: Record<string, string>; needs?: string; if?: string }>;
  };
  const runs = (job: string) => workflow.jobs[job]!.steps.map((s) => s.run ?? '').join('\n');
  assert.match(runs('test'), /bash \.ci\/run/);
  assert.ok(existsSync(join(ROOT, '.ci/run')));
  const rerun = workflow.jobs['rerun-sweep']!;
  assert.equal(rerun.needs, 'test');
  assert.match(rerun.if ?? '', /refs\/heads\/main/);
  assert.match(runs('rerun-sweep'), /npx synthscale sweep rerun "\$SPEC"/);
  assert.match(rerun.env!.SPEC!, /specs\/paper\.yaml/);
  await loadSpecFile(join(ROOT, 'specs/paper.yaml'));
  // Credentials come from repository secrets into the environment, never into a command line.
  for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_API_KEY']) assert.match(rerun.env![key]!, /^\$\{\{ secrets\./);
  assert.doesNotMatch(runs('rerun-sweep'), /secrets\./);
});
