// The report's Dataset section: what the sweep trained and evaluated on. The sweep's dataset (title,
// origin, geometry and the native one when resized, classes, split sizes, and for an imported
// dataset the inputs read and what was skipped, by reason), then each eval set: a split of the
// sweep's dataset, a corrupted copy of one (OOD suites), or a split of another dataset with the same
// classes, with that dataset's title and origin. Titles, class names and paths are users' text:
// they go in as data (escaped in report.html, inert in report.md).
import { heading, joinText, list, md, paragraph, table, type Block, type Text } from './document.js';
import { geometryText, originText, type DatasetFacts, type ReportView } from './dataset-view.js';

/** Up to this many classes are listed by name; more are a count and the first few. */
export const LISTED_CLASSES = 20;
const FIRST_CLASSES = 8;
const SKIP_EXAMPLES = 3;

const count = (n: number) => n.toLocaleString('en-US');

/** The class names, or for many classes their count and the first few. */
export function classesText(classes: readonly string[]): string {
  if (classes.length <= LISTED_CLASSES) return `${classes.length} classes: ${classes.join(' · ')}`;
  return `${classes.length} classes; the first ${FIRST_CLASSES}: ${classes.slice(0, FIRST_CLASSES).join(' · ')} … and ${classes.length - FIRST_CLASSES} more (all in report.json)`;
}

/** "32x32 RGB (native 28x28 grey, brought to it by the resize rule)". */
function geometryLine(d: DatasetFacts): string | null {
  if (!d.geometry) return null;
  const native = d.nativeGeometry ? ` (native ${geometryText(d.nativeGeometry)}, brought to it by the resize rule: shorter side, centre crop, channels)` : '';
  return `${geometryText(d.geometry)}${native}`;
}

function importLines(d: DatasetFacts): Text[] {
  if (!d.imported) return [];
  const { inputs, skipped } = d.imported;
  const reasons = Object.entries(skipped.byReason).sort((p, q) => q[1] - p[1]).map(([reason, n]) => `${reason} ${count(n)}`);
  const lines: Text[] = [md`**imported**: ${count(inputs)} inputs read, ${count(skipped.count)} skipped${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`];
  const examples = skipped.examples.slice(0, SKIP_EXAMPLES).map((e) => `${e.item}: ${e.reason}`);
  if (examples.length > 0) lines.push(md`**skipped, e.g.**: ${examples.join(' · ')}`);
  return lines;
}

function splitsTable(d: DatasetFacts): Block[] {
  const splits = Object.entries(d.splits ?? {});
  if (splits.length === 0) return [];
  return [
    table(
      ['split', 'images', 'images per class (min–max)'],
      splits.map(([name, s]) => [name, count(s.count), s.classCounts.length > 0 ? `${count(Math.min(...s.classCounts))}–${count(Math.max(...s.classCounts))}` : '—']),
    ),
  ];
}

/** The sweep's dataset and its eval sets; empty when the report knows neither. */
export function datasetSection(view: ReportView): Block[] {
  const d = view.dataset;
  const evalSets = view.evalSets.map((e) => md`${e.description}`);
  if (!d && evalSets.length === 0) return [];
  const out: Block[] = [heading(2, 'Dataset')];
  if (d) {
    const geometry = geometryLine(d);
    const wnids = d.wnids?.filter((w) => w !== null).length ?? 0;
    out.push(
      paragraph(joinText([md`**${d.title}**`, ` (${originText(d.origin)})`], '')),
      list([
        ...(geometry ? [md`**images**: ${geometry}`] : []),
        ...(d.classes ? [md`**classes**: ${classesText(d.classes)}`] : []),
        ...(wnids > 0 ? [md`**WordNet ids**: ${wnids} of ${d.classes?.length ?? wnids} classes (the description and hypernym prompts read their synsets)`] : []),
        ...importLines(d),
      ]),
      ...splitsTable(d),
    );
  }
  if (evalSets.length > 0) out.push(paragraph('Eval sets (each is its own curves and panels):'), list(evalSets));
  const others = view.evalSets.filter((e) => e.kind === 'dataset' && e.dataset);
  for (const e of others) {
    const o = e.dataset!;
    const geometry = geometryLine(o);
    const facts = [...(geometry ? [`images ${geometry}`] : []), ...(o.classes ? [classesText(o.classes)] : [])];
    const lines = [...(facts.length > 0 ? [md`${facts.join('; ')}`] : []), ...importLines(o)];
    if (lines.length > 0) out.push(paragraph(md`Eval set \`${e.name}\`'s dataset, **${o.title}**:`), list(lines));
  }
  return out;
}
