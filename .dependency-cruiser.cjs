// Layer rules for dependency-cruiser (`npm run lint` fails on any of them; `npm run deps:graph`
// prints the folder graph). Layers import downward only: core <- contracts <- activities/<stage>
// <- activities/index.ts (the composition root) and workflows (activity types only).
// Paths are relative to the repository root; type-only imports (`import type`) are seen too
// (tsPreCompilationDeps), so a stage may not even borrow another stage's types.
const LOCAL = '^(activities|bench|bin|cli|contracts|core|infra|test|workers|workflows)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'stage-imports-other-stage',
      comment:
        'A stage (activities/<x>/) may not import another stage, nor a file directly in activities/ ' +
        '(activities/index.ts is the composition root). Move what both need into core/ or contracts/.',
      severity: 'error',
      from: { path: '^activities/([^/]+)/' },
      to: { path: '^activities/', pathNot: '^activities/$1/' },
    },
    {
      name: 'stage-imports-outside-its-layers',
      comment: 'A stage may import only core/, contracts/ and files in its own folder.',
      severity: 'error',
      from: { path: '^activities/[^/]+/' },
      to: { path: LOCAL, pathNot: '^(core|contracts|activities)/' },
    },
    {
      name: 'core-imports-outside-core',
      comment: 'core/ is the bottom layer: it may import npm libraries and core/ only.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: LOCAL, pathNot: '^core/' },
    },
    {
      name: 'contracts-imports-outside-layers',
      comment: 'contracts/ may import core/ and contracts/ only.',
      severity: 'error',
      from: { path: '^contracts/' },
      to: { path: LOCAL, pathNot: '^(core|contracts)/' },
    },
    {
      name: 'contracts-imports-runtime',
      comment: 'contracts/ is types, schemas and pure functions: no Temporal, no I/O, no TF.js, no sharp.',
      severity: 'error',
      from: { path: '^contracts/' },
      to: {
        path: [
          '(^|/)node_modules/(@temporalio|@tensorflow)/',
          '(^|/)node_modules/sharp/',
          '^(node:)?(fs|fs/promises|http|https|http2|net|child_process)$',
        ],
      },
    },
    {
      name: 'workflow-imports-activity-value',
      comment:
        'Workflows may import activity *types* only (`import type`): activity code must not enter ' +
        'the workflow bundle. Call activities through workflows/proxies.ts.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(\\.synthscale|docs|specs)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Node's ESM resolution (`.js` suffixes that name `.ts` files; package "exports").
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
