// Class names as prompt text. A dataset's class names come from its users (folder names, a classes
// file), so before a name goes into a prompt it is made one line (control characters and runs of
// whitespace become one space) and bounded in length. Nothing is escaped: a prompt is text for a
// generator, never markup. Fashion-MNIST's names pass through unchanged, so its prompts stay as they were.

/** Longest class name a prompt carries, in code points (the spec's own limit on listed names). */
export const MAX_PROMPT_CLASS_NAME = 200;

/** `name` as one line of at most MAX_PROMPT_CLASS_NAME code points ("…" marks a cut). */
export function promptClassName(name: string): string {
  const line = name.replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, ' ').trim();
  const points = [...line];
  return points.length <= MAX_PROMPT_CLASS_NAME ? line : `${points.slice(0, MAX_PROMPT_CLASS_NAME - 1).join('')}…`;
}

/** `text` as one line: control characters (newlines, tabs) become spaces; text without them is returned as it is. */
export function oneLine(text: string): string {
  return /[\p{Cc}\p{Zl}\p{Zp}]/u.test(text) ? text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ') : text;
}

/** A class name quoted for an error message: JSON-quoted, at most `max` code points. */
export function quotedClassName(name: string, max = 60): string {
  const points = [...name];
  return JSON.stringify(points.length <= max ? name : `${points.slice(0, max - 1).join('')}…`);
}
