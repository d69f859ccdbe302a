// `npm run deps:graph`: the folder-level import graph as text, for the docs, from dependency-cruiser
// (same config as `npm run lint`). Prints folder -> folder with import counts (how many of them are
// type-only), the cross-stage import count (must be 0), layer-rule violations by rule, and which
// npm packages and Node built-ins the workflow bundle reaches through value imports.
//   node --import tsx infra/deps-graph.ts [--tests]     --tests adds test/ to the graph
//   node --import tsx infra/deps-graph.ts --check [--from <cruise.json>]
//     for infra/lint.sh: fails when value imports from workflows/ reach a package other than
//     WORKFLOW_PACKAGES, or a Node built-in, through any chain of files (dependency-cruiser's own
//     `reachable` rules cannot tell value from `import type` edges). --from reads a saved
//     `depcruise -T json` result instead of cruising again.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ICruiseResult, IDependency } from 'dependency-cruiser';

const SOURCE_DIRS = ['activities', 'bench', 'bin', 'cli', 'contracts', 'core', 'infra', 'workers', 'workflows'];
const withTests = process.argv.includes('--tests');
// What Temporal's workflow sandbox is built for; anything else reached from workflows/ is a leak.
const WORKFLOW_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);

function cruise(dirs: string[]): ICruiseResult {
  const json = execFileSync('node_modules/.bin/depcruise', ['--config', '.dependency-cruiser.cjs', '-T', 'json', ...dirs], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(json) as ICruiseResult;
}

/** The graph's node for a repository file: a stage folder (activities/<x>), else its top folder. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'activities') return parts.length > 2 ? `activities/${parts[1]}` : 'activities (root)';
  return parts[0]!;
}

/** An npm package name (`@scope/name` or `name`) from a resolved path under node_modules. */
function packageOf(resolved: string): string | undefined {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(resolved);
  return match?.[1];
}

const isLocal = (dep: IDependency) => !dep.coreModule && !dep.couldNotResolve && packageOf(dep.resolved) === undefined;
const isTypeOnly = (dep: IDependency) => dep.dependencyTypes.includes('type-only');
const isStage = (folder: string) => folder.startsWith('activities');

const fromIndex = process.argv.indexOf('--from');
const result: ICruiseResult =
  fromIndex > 0 && process.argv[fromIndex + 1]
    ? (JSON.parse(readFileSync(process.argv[fromIndex + 1]!, 'utf8')) as ICruiseResult)
    : cruise(withTests ? [...SOURCE_DIRS, 'test'] : SOURCE_DIRS);
if (process.argv.includes('--check')) process.exit(checkWorkflowBundle());
const shown = new Set(withTests ? [...SOURCE_DIRS, 'test'] : SOURCE_DIRS);

const edges = new Map<string, { all: number; typeOnly: number }>();
let crossStage = 0;
for (const mod of result.modules) {
  const from = folderOf(mod.source);
  if (!shown.has(mod.source.split('/')[0]!)) continue;
  for (const dep of mod.dependencies.filter(isLocal)) {
    const to = folderOf(dep.resolved);
    if (from === to) continue;
    const edge = edges.get(`${from} -> ${to}`) ?? { all: 0, typeOnly: 0 };
    edge.all += 1;
    if (isTypeOnly(dep)) edge.typeOnly += 1;
    edges.set(`${from} -> ${to}`, edge);
    if (isStage(from) && from !== 'activities (root)' && isStage(to)) crossStage += 1;
  }
}

interface BundleReach {
  packages: string[];
  builtins: string[];
  folders: string[];
  /** For each package or built-in reached, the chain of files that imports it, from workflows/. */
  chains: Map<string, string[]>;
}

/** Packages and built-ins reached from workflows/ along value imports: what the workflow bundle holds. */
function workflowBundleReach(): BundleReach {
  const byFile = new Map(result.modules.map((mod) => [mod.source, mod]));
  const queue = result.modules.filter((mod) => mod.source.startsWith('workflows/')).map((mod) => mod.source);
  const importedBy = new Map<string, string | undefined>(queue.map((file) => [file, undefined]));
  const chainTo = (file: string): string[] => {
    const parent = importedBy.get(file);
    return parent ? [...chainTo(parent), file] : [file];
  };
  const chains = new Map<string, string[]>();
  const packages = new Set<string>();
  const builtins = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const dep of byFile.get(file)?.dependencies ?? []) {
      if (isTypeOnly(dep) || dep.couldNotResolve) continue;
      const pkg = dep.coreModule ? undefined : packageOf(dep.resolved);
      const leaf = dep.coreModule ? dep.resolved : pkg;
      if (leaf !== undefined) {
        (dep.coreModule ? builtins : packages).add(leaf);
        if (!chains.has(leaf)) chains.set(leaf, chainTo(file));
      } else if (!importedBy.has(dep.resolved)) {
        importedBy.set(dep.resolved, file);
        queue.push(dep.resolved);
      }
    }
  }
  const folders = new Set([...importedBy.keys()].map(folderOf));
  return { packages: [...packages].sort(), builtins: [...builtins].sort(), folders: [...folders].sort(), chains };
}

function checkWorkflowBundle(): number {
  const reach = workflowBundleReach();
  const leaks = [...reach.packages.filter((pkg) => !WORKFLOW_PACKAGES.has(pkg)), ...reach.builtins];
  if (leaks.length === 0) {
    console.log(`workflow bundle: ${reach.packages.join(', ')} only (${reach.folders.join(', ')})`);
    return 0;
  }
  console.error('workflow bundle: value imports from workflows/ reach what the Temporal sandbox must not load:');
  for (const leak of leaks) console.error(`  ${leak}: ${[...reach.chains.get(leak)!, leak].join(' -> ')}`);
  return 1;
}

const width = Math.max(...[...edges.keys()].map((key) => key.length));
console.log(`Folder import graph (${result.summary.totalCruised} modules; imports between folders, type-only in parentheses)`);
for (const [key, { all, typeOnly }] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${key.padEnd(width)}  ${String(all).padStart(3)}${typeOnly ? ` (${typeOnly} type-only)` : ''}`);
}
console.log(`\nCross-stage imports (activities/<x>/ -> activities/<y>/ or activities/*.ts): ${crossStage}`);

const byRule = new Map<string, number>();
for (const violation of result.summary.violations) byRule.set(violation.rule.name, (byRule.get(violation.rule.name) ?? 0) + 1);
console.log(`Layer-rule violations: ${result.summary.violations.length}${result.summary.violations.length ? ' (details: npm run lint)' : ''}`);
for (const [rule, count] of [...byRule].sort()) console.log(`  ${rule}: ${count}`);

const reach = workflowBundleReach();
console.log('\nWorkflow bundle (value imports reachable from workflows/):');
console.log(`  folders:   ${reach.folders.join(', ')}`);
console.log(`  packages:  ${reach.packages.join(', ') || '-'}`);
console.log(`  built-ins: ${reach.builtins.join(', ') || '-'}`);
