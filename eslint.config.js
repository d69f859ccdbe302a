// ESLint (flat config): bug-catching rules everywhere, plus the Temporal workflow-sandbox rules
// for workflows/**. Formatting and style are not linted. Run through `npm run lint` (infra/lint.sh),
// which also runs the layer rules in .dependency-cruiser.cjs.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node built-ins under both spellings (`fs`, `node:fs`); the workflow sandbox has none of them.
const nodeBuiltins = [...new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))];

// Workflow code runs in Temporal's deterministic sandbox and is bundled on worker start: it may use
// @temporalio/workflow, @temporalio/common and contracts/, and only the *types* of activities.
const workflowImportRules = {
  paths: nodeBuiltins.map((name) => ({
    name,
    message: 'Workflow code runs in the Temporal sandbox: no Node built-ins (do I/O in an activity).',
  })),
  patterns: [
    {
      regex: '^\\.{1,2}/(.*/)?activities(/|$)',
      allowTypeImports: true,
      message:
        'Workflows may import only activity types (`import type`); call activities through workflows/proxies.ts.',
    },
    {
      regex: '^@temporalio/(activity|worker|client|testing)(/|$)',
      message: 'Workflow code may use @temporalio/workflow and @temporalio/common only.',
    },
    {
      regex: '^(zod|mathjs|sharp|pngjs|tar-stream|playwright-core|vega|vega-lite|@tensorflow/.*|@google-cloud/.*)(/|$)',
      message:
        'Heavy or I/O libraries do not belong in the workflow bundle: do this work in an activity, pass plain data.',
    },
  ],
};

export default defineConfig(
  globalIgnores(['node_modules/**', '.synthscale/**', '.ci/**', 'docs/**', 'tmp/**', 'specs/**']),
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      // Style, not bugs: off (prefer-*, any, {} types). Unused code is worth a look, never a failure.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'warn',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      '@typescript-eslint/no-empty-object-type': 'off',
      // The code strips control characters on purpose; `cause` would change what failures serialize.
      'no-control-regex': 'off',
      'preserve-caught-error': 'off',
      'prefer-const': 'off',
      'prefer-rest-params': 'off',
      'prefer-spread': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Node globals for plain JS files (bin/, configs); TypeScript files get them from @types/node.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-restricted-imports': ['error', workflowImportRules],
      // `import { type X }` still loads the module under verbatimModuleSyntax; `import type` does not.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'Workflow code may not load modules at run time (dynamic import()).' },
        { selector: "CallExpression[callee.name='require']", message: 'Workflow code may not use require().' },
      ],
      // An un-awaited promise in a workflow is a step that may never run or whose failure is lost.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
