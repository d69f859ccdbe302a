// Text from outside (a spec file's keys, values, parser snippets) made safe to print on a terminal:
// control characters and other invisibles become escapes, so a file cannot move the cursor,
// recolour the terminal, hide text (bidi overrides) or break the one-line-per-problem layout.

/**
 * Controls (C0, DEL, C1), format characters (bidi overrides, zero-width, BOM), line and paragraph
 * separators, lone surrogates, private-use and unassigned code points.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeChar(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.codePointAt(0)!;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/**
 * `text` with every unprintable character escaped (ESC -> \x1b, U+202E -> \u202e, newline -> \n),
 * cut to at most `maxLength` characters of the original (marked with an ellipsis). Backslashes
 * are left alone: the point is a safe terminal, not a reversible encoding.
 */
export function printable(text: string, maxLength = Infinity): string {
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return cut.replace(UNPRINTABLE, escapeChar);
}

/** A value from outside quoted for a message: strings in single quotes, escaped and cut to 60 characters. */
export function quoted(value: unknown, maxLength = 60): string {
  const text = typeof value === 'string' ? value : String(value);
  return `'${printable(text, maxLength)}'`;
}
