// The report document (document.ts) as one self-contained HTML page: inline CSS, charts as inline
// SVG, raster images as data: URIs, no scripts and no external URLs, so report.html can be mailed,
// attached to a ticket or opened offline. All text from data is escaped; the only tags are the
// ones written here and those in the charts Vega renders (which escapes its own text).
// The source legend is interactive without a script: each source's checkbox hides the chart marks
// whose aria-label is that source's name (the charts' description channel) through a CSS :has() rule.
import type { Block, Text } from './document.js';
import type { RasterImage } from './raster.js';

/** What an image block shows in the page: an SVG document to inline, or a PNG to embed. */
export type HtmlFigure = { svg: string } | RasterImage;

export interface HtmlOptions {
  title: string;
  /** By file name, as figure blocks name them. */
  figures: ReadonlyMap<string, HtmlFigure>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type InlineTag = 'code' | 'strong' | 'em';

/**
 * Inline text as HTML. Markers count only in markup segments, with Markdown's flanking rule (an
 * opening * is followed by a non-space, a closing one follows a non-space), so "* = extrapolated"
 * stays a star; tags still open at the end are closed.
 */
export function inlineHtml(text: Text): string {
  if (typeof text === 'string') return escapeHtml(text);
  const chars: string[] = [];
  const markup: boolean[] = [];
  // A link is one finished piece of HTML: its text is data, escaped, and never carries markup.
  const raw: boolean[] = [];
  for (const segment of text.segments) {
    if (segment.href) {
      chars.push(`<a href="#${segment.href}">${escapeHtml(segment.text)}</a>`);
      markup.push(false);
      raw.push(true);
      continue;
    }
    for (const ch of segment.text) {
      chars.push(ch);
      markup.push(segment.markup);
      raw.push(false);
    }
  }
  const spaceAt = (i: number) => i < 0 || i >= chars.length || /\s/.test(chars[i]!);
  const open: InlineTag[] = [];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (raw[i]) {
      out += ch;
      continue;
    }
    const top = open[open.length - 1];
    if (markup[i] && ch === '`') {
      if (top === 'code') {
        open.pop();
        out += '</code>';
        continue;
      }
      if (chars.some((c, j) => j > i && c === '`' && markup[j])) {
        open.push('code');
        out += '<code>';
        continue;
      }
    } else if (markup[i] && ch === '*' && top !== 'code') {
      const width = chars[i + 1] === '*' && markup[i + 1] ? 2 : 1;
      const tag: InlineTag = width === 2 ? 'strong' : 'em';
      if (top === tag && !spaceAt(i - 1)) {
        open.pop();
        out += `</${tag}>`;
        i += width - 1;
        continue;
      }
      if (!open.includes(tag) && !spaceAt(i + width)) {
        open.push(tag);
        out += `<${tag}>`;
        i += width - 1;
        continue;
      }
    }
    out += escapeHtml(ch);
  }
  while (open.length > 0) out += `</${open.pop()}>`;
  return out;
}

/** A section's id: lower-case words joined by dashes (for simple titles, also the anchor Markdown viewers give the heading). */
export function sectionId(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
}

/** The h2 sections with ids for the contents list (sectionId, numbered when repeated), by block index. */
function sections(blocks: readonly Block[]): ({ id: string; title: string } | null)[] {
  const seen = new Map<string, number>();
  return blocks.map((block) => {
    if (block.kind !== 'heading' || block.level !== 2) return null;
    const title = plainText(block.text);
    const base = sectionId(title);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return { id: count === 0 ? base : `${base}-${count + 1}`, title };
  });
}

function plainText(text: Text): string {
  return typeof text === 'string' ? text : text.segments.map((s) => (s.markup ? s.text.replace(/[`*]/g, '') : s.text)).join('');
}

/** One image of the report dir: a chart's SVG inline, a raster image as a data: URI. */
function imageHtml(file: string, alt: string, figure: HtmlFigure | undefined): string {
  if (!figure) return `<p class="missing">[${escapeHtml(file)} was not rendered]</p>`;
  if ('svg' in figure) {
    // The XML prolog is not allowed inside an HTML document.
    return figure.svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').replace(/^<svg\b/, `<svg role="img" aria-label="${escapeHtml(alt)}"`);
  }
  const src = `data:image/png;base64,${Buffer.from(figure.png).toString('base64')}`;
  return `<img src="${src}" alt="${escapeHtml(alt)}" width="${figure.width}" height="${figure.height}">`;
}

/** Cells up to this many characters do not wrap on wide screens ("0.612 ± 0.002", "0.55 [0.53, 0.56]"). */
const SHORT_CELL = 24;

function blockHtml(block: Block, id: string | null, figures: HtmlOptions['figures']): string {
  switch (block.kind) {
    case 'heading':
      return `<h${block.level}${id ? ` id="${id}"` : ''}>${inlineHtml(block.text)}</h${block.level}>`;
    case 'paragraph':
      return `<p>${inlineHtml(block.text)}</p>`;
    case 'list':
      return `<ul>\n${block.items.map((item) => `<li>${inlineHtml(item)}</li>`).join('\n')}\n</ul>`;
    case 'table': {
      const head = `<tr>${block.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
      // Short cells (numbers with their intervals) stay on one line on a wide screen; long text wraps.
      const rows = block.rows.map((row) => `<tr>${row.map((cell, i) => `<td${i > 0 && plainText(cell).length <= SHORT_CELL ? ' class="short"' : ''}>${inlineHtml(cell)}</td>`).join('')}</tr>`);
      return `<div class="table"><table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table></div>`;
    }
    case 'figure':
      return `<figure class="chart">${imageHtml(block.file, block.alt, figures.get(block.file))}</figure>`;
    case 'gallery':
      return `<div class="gallery">\n${block.images
        .map((image) => `<figure class="raster">${imageHtml(image.file, image.alt, figures.get(image.file))}<figcaption>${escapeHtml(image.alt)}</figcaption></figure>`)
        .join('\n')}\n</div>`;
    case 'code':
      return `<details><summary>${escapeHtml(block.summary)}</summary>\n<pre><code>${escapeHtml(block.code)}</code></pre>\n</details>`;
    case 'details':
      return `<details${block.open ? ' open' : ''}><summary>${escapeHtml(block.summary)}</summary>\n${block.blocks.map((b) => blockHtml(b, null, figures)).join('\n')}\n</details>`;
    case 'summary':
      return `<section class="summary" id="${sectionId(block.title)}">\n<h2>${escapeHtml(block.title)}</h2>\n${block.blocks.map((b) => blockHtml(b, null, figures)).join('\n')}\n</section>`;
    case 'toggles':
      return togglesHtml(block, toggleIds(block));
  }
}

/** The checkbox ids of a toggles block's sources, in order: `show-<n>`, numbered over the block. */
function toggleIds(block: Extract<Block, { kind: 'toggles' }>): Map<string, string> {
  const names = [...new Set(block.groups.flatMap((g) => g.sources))];
  return new Map(names.map((name, i) => [name, `show-${i + 1}`]));
}

/** A form of checkboxes, one per source (checked: shown), grouped; the reset button shows all again. */
function togglesHtml(block: Extract<Block, { kind: 'toggles' }>, ids: Map<string, string>): string {
  const groups = block.groups.map(
    (g) =>
      `<span class="toggle-group"><span class="toggle-title">${escapeHtml(g.title)}:</span> ${g.sources
        .map((name) => `<input type="checkbox" id="${ids.get(name)}" checked><label for="${ids.get(name)}">${escapeHtml(name)}</label>`)
        .join(' ')}</span>`,
  );
  return `<form class="toggles" aria-label="${escapeHtml(block.label)}"><strong>${escapeHtml(block.label)}</strong> <input type="reset" value="show all">\n${groups.join('\n')}\n</form>`;
}

/** A CSS string literal's contents: every character outside [A-Za-z0-9 _-] as a hex escape (so nothing can end the string or the style element). */
function cssString(s: string): string {
  return s.replace(/[^A-Za-z0-9 _-]/g, (c) => `\\${c.codePointAt(0)!.toString(16)} `);
}

/** One rule per toggled source: while its box is unchecked, its marks in every chart are hidden. */
function toggleCss(blocks: readonly Block[]): string {
  return blocks
    .flatMap((block) => (block.kind === 'toggles' ? [...toggleIds(block)] : []))
    .map(([name, id]) => `body:has(#${id}:not(:checked)) svg [aria-label="${cssString(name)}"] { display: none; }`)
    .join('\n');
}

const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; max-width: 1180px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; margin-bottom: .3em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; } h3 { margin-top: 1.4em; }
nav { font-size: .9em; background: #f6f8fa; border: 1px solid #e1e4e8; padding: .5em 1em; border-radius: 4px; }
nav ol { margin: .3em 0; columns: 2; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
pre { background: #f6f8fa; padding: 1em; overflow: auto; max-height: 40em; }
.table { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: .88em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d8dee4; padding: .25em .6em; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fbfbfc; }
figure { margin: 1em 0; overflow-x: auto; } figure.chart svg { max-width: 100%; height: auto; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.gallery figure { margin: 0; } figcaption { font-size: .85em; color: #555; max-width: 40em; }
figure.raster img { image-rendering: pixelated; }
.missing { color: #a00; }
td { overflow-wrap: break-word; }
.summary { border: 1px solid #d8dee4; border-radius: 6px; padding: 0 1em .4em; background: #fcfcfd; }
.summary h2 { margin-top: .5em; } .summary p { margin: .4em 0; } .summary table { font-size: .82em; } .summary ul { margin: .3em 0; padding-left: 1.3em; }
.summary li { margin: .1em 0; }
details > summary { cursor: pointer; font-weight: 600; margin: .25em 0; }
.toggles { font-size: .85em; background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: .4em .8em; margin: 1em 0; line-height: 1.9; }
.toggle-group { display: block; } .toggle-title { color: #555; }
.toggles label { margin-right: .7em; } .toggles input[type=checkbox] { margin: 0 .2em 0 0; vertical-align: -2px; }
.toggles input:not(:checked) + label { color: #999; text-decoration: line-through; }
@media (min-width: 901px) { td.short { white-space: nowrap; } }
@media (max-width: 900px) { body { font-size: 14px; padding: 0 .6em; } table { font-size: .8em; } th, td { padding: .2em .35em; } }
`;

/** The whole page: the title block, a contents list, then every block in order. */
export function toHtml(blocks: readonly Block[], options: HtmlOptions): string {
  const ids = sections(blocks);
  const contents = ids.flatMap((section) => (section ? [`<li><a href="#${section.id}">${escapeHtml(section.title)}</a></li>`] : []));
  const body = blocks.map((block, i) => blockHtml(block, ids[i]?.id ?? null, options.figures));
  const firstSection = ids.findIndex((section) => section !== null);
  if (firstSection >= 0) body.splice(firstSection, 0, `<nav><strong>Contents</strong><ol>\n${contents.join('\n')}\n</ol></nav>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may load or run: the page is complete as it is.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${STYLE}${toggleCss(blocks)}\n</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
