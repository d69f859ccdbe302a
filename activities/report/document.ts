// The report as data: headings, paragraphs, lists, tables and figures, built once (render.ts) and
// written twice, as Markdown (report.md, here) and as HTML (report.html, html.ts), so the two
// never drift apart.
//
// Text that reaches a report comes partly from users (source descriptions, prompt provenance,
// notes, dataset titles, class names, paths), so markup is never parsed out of data: only the
// literal parts of an `md` template may carry `code`, **strong** and *em* markers; interpolated
// values are plain text, escaped in report.html (html.ts) and made inert in report.md (markdownData).

/** One piece of inline text: a markup literal written in this code, or plain text from data; with `href`, a link to a section of the page. */
export interface Segment {
  text: string;
  markup: boolean;
  /** A section id of this report (lower-case letters, digits and dashes): the segment links there. */
  href?: string;
}

/** Inline text with markup only where the code put it (build with the `md` template tag). */
export class Rich {
  constructor(readonly segments: readonly Segment[]) {}
}

/** A plain string is data and is shown as written; a Rich may carry markup. */
export type Text = string | Rich;

/** md`**${name}** on \`${evalSet}\``: the literals may carry markup, the values never do (a Rich value keeps its own). */
export function md(literals: TemplateStringsArray, ...values: (Text | number)[]): Rich {
  const segments: Segment[] = [];
  literals.forEach((literal, i) => {
    if (literal) segments.push({ text: literal, markup: true });
    if (i < values.length) segments.push(...segmentsOf(values[i]!));
  });
  return new Rich(segments);
}

function segmentsOf(value: Text | number): readonly Segment[] {
  if (value instanceof Rich) return value.segments;
  return [{ text: String(value), markup: false }];
}

/** Plain text linking to a section of the report (`anchor`: its id, see html.ts sectionId). */
export function link(text: string, anchor: string): Rich {
  if (!/^[a-z0-9-]+$/.test(anchor)) throw new Error(`link: '${anchor}' is not a section id`);
  return new Rich([{ text, markup: false, href: anchor }]);
}

/** Texts joined by a plain separator, keeping each one's markup. */
export function joinText(parts: readonly Text[], separator: string): Rich {
  return new Rich(parts.flatMap((part, i) => [...(i > 0 && separator ? [{ text: separator, markup: false }] : []), ...segmentsOf(part)]));
}

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: Text }
  | { kind: 'paragraph'; text: Text }
  | { kind: 'list'; items: Text[] }
  | { kind: 'table'; header: string[]; rows: Text[][] }
  /** An image file of the report dir; `raster` is its PNG copy, when there is one. */
  | { kind: 'figure'; file: string; alt: string; raster?: string }
  /** Images shown side by side (the sample sheets). */
  | { kind: 'gallery'; images: { file: string; alt: string }[] }
  /** A collapsed code listing (the sweep spec). */
  | { kind: 'code'; summary: string; language: string; code: string }
  /** Blocks shown collapsed under a one-line summary (long per-class tables, an eval set's tables); `open`: shown unfolded at first. */
  | { kind: 'details'; summary: string; blocks: Block[]; open?: boolean }
  /** The one-screen summary at the top: a section of its own, under `title`. */
  | { kind: 'summary'; title: string; blocks: Block[] }
  /** Checkboxes that show or hide each source's marks in every chart of the page (HTML only: CSS, no script). */
  | { kind: 'toggles'; label: string; groups: { title: string; sources: string[] }[] };

export const heading = (level: 1 | 2 | 3, text: Text): Block => ({ kind: 'heading', level, text });
export const paragraph = (text: Text): Block => ({ kind: 'paragraph', text });
export const list = (items: Text[]): Block => ({ kind: 'list', items });
export const table = (header: string[], rows: Text[][]): Block => ({ kind: 'table', header, rows });

// ---------------------------------------------------------------------------------------------
// Markdown

/**
 * Data as Markdown text that renders as written: one line, and nothing in it opens a tag, an
 * autolink, an entity, a link, image or link definition, code or emphasis. Such characters are
 * backslash-escaped only where they could: "<" before a tag's first character, "&" starting an
 * entity, "]" before "(", "[" or ":" (so "ratio < 1" and "0.51 [0.43, 0.60]" read as written).
 */
export function markdownData(s: string): string {
  return s.replace(/\r\n?|\n/g, ' ').replace(/[\\`*]|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)|\](?=[([:])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`);
}

/** Data as a link's text: as markdownData, with every bracket escaped (link text must not close early). */
function markdownLinkText(s: string): string {
  return s.replace(/\r\n?|\n/g, ' ').replace(/[\\`*[\]]|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`);
}

/** Data inside a code span, where backslashes are literal: only a backtick could end the span early. */
function markdownCodeData(s: string): string {
  return s.replace(/\r\n?|\n/g, ' ').replace(/`/g, "'");
}

/** Markdown of inline text: markup as written, data made inert (markdownData; inside a code span, markdownCodeData). */
export function markdownOf(text: Text): string {
  if (typeof text === 'string') return markdownData(text);
  let inCode = false;
  return text.segments
    .map((s) => {
      if (s.href) return `[${markdownLinkText(s.text)}](#${s.href})`;
      if (!s.markup) return inCode ? markdownCodeData(s.text) : markdownData(s.text);
      for (const ch of s.text) if (ch === '`') inCode = !inCode;
      return s.text;
    })
    .join('');
}

/** A table cell: pipes escaped (GFM splits rows on them before anything else), one line. */
function tableCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Text inside the raw HTML of a <details> summary in report.md. */
function summaryHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function markdownLines(block: Block): string[] {
  switch (block.kind) {
    case 'heading':
      return [`${'#'.repeat(block.level)} ${markdownOf(block.text)}`];
    case 'paragraph':
      return [markdownOf(block.text)];
    case 'list':
      return block.items.map((item) => `- ${markdownOf(item)}`);
    case 'table': {
      const row = (cells: string[]) => `| ${cells.map(tableCell).join(' | ')} |`;
      return [row(block.header.map(markdownData)), `|${block.header.map(() => '---').join('|')}|`, ...block.rows.map((r) => row(r.map(markdownOf)))];
    }
    case 'figure':
      return [`![${block.alt}](${block.file})`, ...(block.raster ? ['', `PNG (2x, for papers and READMEs): [${block.raster}](${block.raster})`] : [])];
    case 'gallery':
      // One line: Markdown viewers put the images next to each other.
      return [block.images.map((image) => `![${markdownData(image.alt)}](${image.file})`).join(' ')];
    case 'code':
      return [`<details><summary>${summaryHtml(block.summary)}</summary>`, '', `\`\`\`${block.language}`, block.code, '```', '', '</details>'];
    case 'details':
      return [`<details${block.open ? ' open' : ''}><summary>${summaryHtml(block.summary)}</summary>`, '', ...block.blocks.flatMap((b) => [...markdownLines(b), '']), '</details>'];
    case 'summary':
      return [`## ${markdownData(block.title)}`, '', ...block.blocks.flatMap((b) => [...markdownLines(b), ''])];
    case 'toggles':
      // A static page has nothing to toggle; report.html has the checkboxes.
      return [];
  }
}

/** The document as Markdown: every block followed by a blank line. */
export function toMarkdown(blocks: readonly Block[]): string {
  return blocks.flatMap((block) => [...markdownLines(block), '']).join('\n');
}
