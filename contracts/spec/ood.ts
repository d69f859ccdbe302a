// The spec side of the OOD suites (core/image/ood-suites.ts is the registry): a sweep spec's `ood`
// field, its validation, and the stable id each suite gets in eval-set names and storage keys.
import { z } from 'zod';
import { checkSeverity, getOodSuite, OOD_SUITE_NAMES, OOD_SUITES, unknownSuiteMessage } from '../../core/image/ood-suites.js';

export { OOD_SEVERITIES, OOD_SUITE_NAMES } from '../../core/image/ood-suites.js';
export type { OodSuiteName } from '../../core/image/ood-suites.js';

export const OOD_DEFAULT_SEVERITY = 3;

const severityMessage = 'OOD severity must be an integer from 1 to 5';

export const OodSuiteSpecSchema = z
  .object({
    suite: z.enum(OOD_SUITE_NAMES, { error: (issue) => unknownSuiteMessage(issue.input) }),
    severity: z
      .number({ error: (issue) => `${severityMessage}, got ${JSON.stringify(issue.input)}` })
      .int(severityMessage)
      .min(1, severityMessage)
      .max(5, severityMessage)
      .default(OOD_DEFAULT_SEVERITY),
  })
  .strict();
export type OodSuiteSpec = z.output<typeof OodSuiteSpecSchema>;

/**
 * Stable, storage-safe id (/^[a-z0-9-]+$/): `${suite}-s${severity}` (e.g. `rotate-s3`), or just the
 * suite name for a suite that ignores severity (`invert`). Severity defaults to 3.
 */
export function suiteId(spec: { suite: string; severity?: number }): string {
  const suite = getOodSuite(spec.suite);
  const severity = spec.severity ?? OOD_DEFAULT_SEVERITY;
  checkSeverity(severity);
  return suite.severityInvariant ? suite.name : `${suite.name}-s${severity}`;
}

function uniqueSuiteIds(list: OodSuiteSpec[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, spec] of list.entries()) {
    const id = suiteId(spec);
    if (seen.has(id)) {
      const note = OOD_SUITES[spec.suite].severityInvariant ? ` (${spec.suite} ignores severity)` : '';
      ctx.addIssue({ code: 'custom', path: [i], message: `duplicate OOD suite ${JSON.stringify(id)}${note}` });
    }
    seen.add(id);
  }
}

/** A list of suites with unique ids: one suite may appear at several severities, not twice at one. */
export const OodSuiteListSchema = z
  .array(OodSuiteSpecSchema, { error: 'expected a list of OOD suites, each { suite, severity }' })
  .superRefine(uniqueSuiteIds);

/** What `ood: 'default'` means: every suite once, at the moderate severity 3. */
export const DEFAULT_OOD_SUITES: readonly Readonly<OodSuiteSpec>[] = Object.freeze(
  OOD_SUITE_NAMES.map((suite) => Object.freeze({ suite, severity: OOD_DEFAULT_SEVERITY })),
);

/**
 * A sweep spec's `ood` field: 'default' (DEFAULT_OOD_SUITES), 'none' (no suites) or an explicit
 * list. Always parses to a list.
 */
export const OodSelectionSchema = z.preprocess(
  (value) => (value === 'default' ? DEFAULT_OOD_SUITES.map((s) => ({ ...s })) : value === 'none' ? [] : value),
  z
    .array(OodSuiteSpecSchema, { error: "ood must be 'default', 'none' or a list of { suite, severity } entries" })
    .superRefine(uniqueSuiteIds),
);

/** One line for reports, e.g. "rotate: ... angle in degrees at severity 1..5 = 15 / 30 / 45 / 60 / 90". */
export function describeOodSuite(name: string): string {
  const suite = getOodSuite(name);
  if (suite.severityInvariant) return `${suite.name}: ${suite.description}`;
  return `${suite.name}: ${suite.description}; ${suite.parameter} at severity 1..5 = ${suite.levels.map((v) => +v.toFixed(3)).join(' / ')}`;
}
