// What a bad spec reports: one issue per problem, each naming the field (sources by name), the
// line and column when the spec came from a file, and the fix. Every part that comes from the
// file (keys, values, parser messages) is escaped before it reaches a message.
import { printable } from '../../core/text/printable.js';

/** One problem in a spec. */
export interface SpecIssue {
  /** The field, e.g. "sources[syn-cfg2].cfgScale" (list entries with a unique name go by it), or "(root)". */
  path: string;
  message: string;
  /** 1-based position in the spec's text (YAML or JSON), when the spec came from text. */
  line?: number;
  column?: number;
  /** The known key or value closest to a misspelt one, when one is close enough. */
  suggestion?: string;
}

/** Problems printed in a message; the rest are counted. */
export const MAX_PRINTED_ISSUES = 20;
/** Problems kept on a SpecError (a 100,000-entry list of bad values should not make 100,000 objects). */
export const MAX_KEPT_ISSUES = 200;

export class SpecError extends Error {
  readonly code = 'E_INVALID_SPEC';
  constructor(
    message: string,
    readonly issues: SpecIssue[],
    /** Problems found beyond those in `issues`. */
    readonly omitted = 0,
  ) {
    super(message);
  }
}

/** "file:12:5: " for an issue with a position, "" otherwise. */
export function locationPrefix(origin: string, issue: Pick<SpecIssue, 'line' | 'column'>): string {
  return issue.line === undefined ? '' : `${printable(origin, 200)}:${issue.line}:${issue.column ?? 1}: `;
}

/**
 * The SpecError for a list of issues: a header line, then one line per issue,
 * `file:line:col: path: message` when positioned, `  path: message` otherwise.
 */
export function specErrorOf(origin: string, issues: SpecIssue[], total = issues.length): SpecError {
  const shown = issues.slice(0, MAX_PRINTED_ISSUES);
  const lines = shown.map((i) => {
    const where = locationPrefix(origin, i);
    return `${where || '  '}${i.path}: ${i.message}`;
  });
  if (total > shown.length) lines.push(`  ... and ${total - shown.length} more problem${total - shown.length === 1 ? '' : 's'}`);
  const kept = issues.slice(0, MAX_KEPT_ISSUES);
  return new SpecError(`${printable(origin, 200)} is invalid:\n${lines.join('\n')}`, kept, total - kept.length);
}

/**
 * The SpecError for text that cannot be read as a spec at all (syntax, nesting, encoding): the
 * header names what was expected, each problem is positioned, with its escaped source line.
 */
export function unreadableSpecError(origin: string, what: string, problems: (SpecIssue & { snippet?: string })[]): SpecError {
  const lines = problems.slice(0, MAX_PRINTED_ISSUES).map((p) => {
    const where = locationPrefix(origin, p) || '  ';
    return p.snippet ? `${where}${p.message}\n${p.snippet}` : `${where}${p.message}`;
  });
  if (problems.length > MAX_PRINTED_ISSUES) lines.push(`  ... and ${problems.length - MAX_PRINTED_ISSUES} more`);
  const issues = problems.slice(0, MAX_KEPT_ISSUES).map(({ snippet: _, ...issue }) => issue);
  return new SpecError(`${printable(origin, 200)} is not ${what}:\n${lines.join('\n')}`, issues, Math.max(0, problems.length - MAX_KEPT_ISSUES));
}
