// `synthscale sweep steer <id> --target ... --budget ...`: change an adaptive sweep's targets or
// budget while it runs (a Temporal update, taken by its next decision). Targets and budget are
// written as key=value lists, checked here against the spec's schema so a typo names its field.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AdaptiveSteer, SteerResult } from '../contracts/adaptive-run.js';
import { AdaptiveSchema } from '../contracts/spec/adaptive.js';

/** "a=1,b=x" -> { a: 1, b: 'x' } (numbers where they parse as numbers). */
function keyValues(text: string, what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: '${part}' is not key=value. Fix: e.g. --target 'quantity=slopeRatio,source=syn,halfWidth=0.05'`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    out[key] = raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

/** Zod's issues as "targets.0.halfWidth: ..." lines. */
function explain(error: z.ZodError, prefix: string): string {
  return error.issues.map((i) => `${[prefix, ...i.path].join('.')}: ${i.message}`).join('\n');
}

/**
 * The steer from the command line: `targets` is 'k=v,k=v; k=v,...' (one target per ';') or a YAML
 * list; `budget` is 'cells=300,hours=24'.
 */
export function parseSteer(args: { target?: string; budget?: string }): AdaptiveSteer {
  const steer: AdaptiveSteer = {};
  if (args.target) {
    const raw: unknown = args.target.trim().startsWith('[') || args.target.includes('\n') ? parseYaml(args.target) : args.target.split(';').filter((t) => t.trim()).map((t) => keyValues(t, '--target'));
    const parsed = AdaptiveSchema.shape.targets.safeParse(raw);
    if (!parsed.success) throw new Error(`--target is not a valid list of targets:\n${explain(parsed.error, 'targets')}`);
    steer.targets = parsed.data;
  }
  if (args.budget) {
    const parsed = AdaptiveSchema.shape.budget.safeParse(keyValues(args.budget, '--budget'));
    if (!parsed.success) throw new Error(`--budget is not a valid budget:\n${explain(parsed.error, 'budget')}`);
    steer.budget = parsed.data;
  }
  if (!steer.targets && !steer.budget) throw new Error("nothing to steer. Fix: give --target 'quantity=slope,source=real,halfWidth=0.05' and/or --budget 'cells=300'");
  return steer;
}

export function formatSteerResult(workflowId: string, result: SteerResult): string[] {
  const budget = Object.entries(result.budget ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [`steered ${workflowId} (after round ${result.round}): ${result.targets.length} targets; budget ${budget || 'none'}`, ...result.targets.map((t) => `  ${JSON.stringify(t)}`)];
}
