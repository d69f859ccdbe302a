// Diversity and fidelity of each synthetic source against real images (measured beside its
// recognizability, in the judge's penultimate layer), and the paper's CFG trade-off: the figure of
// diversity-chart.ts with one line per group of sources that differ only in CFG.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { DIVERSITY_K } from '../../core/stats/diversity.js';
import { heading, paragraph, table, type Block } from './document.js';
import { num, sig } from './format.js';
import { accuracyAt, cfgGroups, cleanEvalSet, DIVERSITY_FIGURE, diversityOf, largestN, type CfgGroup } from './diversity-chart.js';

/** The diversity table and the CFG trade-off (figure and its best settings); empty when the sweep has neither. */
export function diversitySections(a: SweepAnalysis, clean?: string | null): Block[] {
  const measured = a.recognizability.filter((r) => diversityOf(r) !== undefined);
  const groups = cfgGroups(a);
  if (measured.length === 0 && groups.length === 0) return [];
  return [...diversityTable(a), ...tradeoffSection(a, groups, clean)];
}

function diversityTable(a: SweepAnalysis): Block[] {
  const measured = a.recognizability.flatMap((r) => {
    const d = diversityOf(r);
    return d ? [{ source: r.source, d }] : [];
  });
  if (measured.length === 0) return [];
  const cfgOf = (name: string) => a.sources.find((s) => s.name === name)?.cfgScale;
  const realVendi = measured[0]!.d.realVendi;
  return [
    heading(2, 'Diversity and fidelity'),
    paragraph(
      'Each synthetic source\'s images against real test images, both in the recognizability judge\'s penultimate layer ' +
        `(one fixed feature space; up to ${measured[0]!.d.realImages} real and ${Math.max(...measured.map((m) => m.d.images))} generated images, seeded subsets). ` +
        `Precision, recall, density and coverage (Naeem et al. 2020) use k = ${DIVERSITY_K} nearest-neighbour balls: precision and density ` +
        'measure fidelity (generated images inside the real data\'s balls; density counts them, about 1 for a faithful source), ' +
        'recall and coverage measure diversity (real images inside the generated balls; real balls holding a generated image). ' +
        'The Fréchet distance compares Gaussian fits of the two sets (lower is closer). The Vendi score is the effective number ' +
        `of distinct images (exp of the entropy of the cosine-similarity kernel's eigenvalues); the real test images score ${sig(realVendi)}.`,
    ),
    table(
      ['source', 'CFG', 'precision', 'recall', 'density', 'coverage', 'Fréchet distance', 'Vendi score', 'within-class Vendi', 'images'],
      measured.map(({ source, d }) => {
        const cfg = cfgOf(source);
        return [source, cfg !== undefined ? String(cfg) : '—', num(d.precision), num(d.recall), num(d.density), num(d.coverage), sig(d.frechet, 4), sig(d.vendi), d.classVendi !== undefined ? sig(d.classVendi) : '—', String(d.images)];
      }),
    ),
  ];
}

function tradeoffSection(a: SweepAnalysis, groups: CfgGroup[], clean?: string | null): Block[] {
  const intro = heading(3, 'The CFG trade-off');
  if (groups.length === 0) {
    return [intro, paragraph('No figure: it needs synthetic sources that differ only in CFG (same generator, prompts and generator data) at two or more scales.')];
  }
  const n = largestN(a);
  const evalSet = cleanEvalSet(a, clean);
  return [
    intro,
    paragraph(
      'The paper (F2): higher guidance makes each image more recognizable but the set less diverse, and accuracy peaks at a low CFG. ' +
        'Per group of sources that differ only in CFG, against CFG: recognizability and precision (fidelity), recall, coverage ' +
        `and the Vendi score (diversity), and mean accuracy at N = ${n ?? '—'}${evalSet ? ` on ${evalSet}` : ''}; dashed lines: the real test images' Vendi ` +
        'score and the real source\'s accuracy. Where each peaks:',
    ),
    table(
      ['generator · prompts', 'CFG scales', 'best accuracy', 'most recognizable', 'highest recall', 'highest Vendi'],
      groups.map((g) => {
        const best = (value: (name: string) => number | null | undefined) => {
          const scored = g.sources.flatMap((s) => {
            const v = value(s.name);
            return v !== null && v !== undefined && Number.isFinite(v) ? [{ cfg: s.cfg, v }] : [];
          });
          if (scored.length === 0) return '—';
          const top = scored.reduce((p, q) => (q.v > p.v ? q : p));
          return `CFG ${top.cfg} (${num(top.v)})`;
        };
        const recognizability = (name: string) => a.recognizability.find((r) => r.source === name);
        return [
          g.label,
          g.sources.map((s) => String(s.cfg)).join(', '),
          best((name) => accuracyAt(a, name, evalSet, n)),
          best((name) => recognizability(name)?.overall),
          best((name) => diversityOf(recognizability(name))?.recall),
          best((name) => diversityOf(recognizability(name))?.vendi),
        ];
      }),
    ),
    { kind: 'figure', file: DIVERSITY_FIGURE.file, alt: 'CFG trade-off: recognizability, diversity and accuracy against CFG', raster: DIVERSITY_FIGURE.raster },
  ];
}
