// The report's closing sections: sample sheets, the paper's own slopes for context, warnings,
// timings and notes, and the spec.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, joinText, list, md, paragraph, table, type Block } from './document.js';
import { duration } from './format.js';
import type { ReportExtras, ReportMeta } from './render.js';
import type { SampleSheet } from './samples.js';
import { geometryText } from './dataset-view.js';
import { costSections } from './sections-cost.js';
import type { SweepCost } from '../../contracts/cost.js';

/** Figure 1 of Fan et al. (CVPR 2024): supervised "scaling ability" slopes on ImageNet-trained classifiers, read off ±0.005. */
export const PAPER_FIGURE1_SLOPES: readonly { source: string; imagenet: number; sketch: number; r: number }[] = [
  { source: 'real', imagenet: 0.528, sketch: 0.239, r: 0.207 },
  { source: 'SD, CLIP templates', imagenet: 0.195, sketch: 0.253, r: 0.308 },
  { source: 'SD, captions', imagenet: 0.245, sketch: 0.162, r: 0.179 },
  { source: 'Muse, captions', imagenet: 0.237, sketch: 0.252, r: 0.227 },
  { source: 'Imagen, captions', imagenet: 0.265, sketch: 0.152, r: 0.189 },
];


export function paperContextSection(a: SweepAnalysis, dataset: string | null): Block[] {
  const realPaper = PAPER_FIGURE1_SLOPES[0]!.imagenet;
  const ratios = PAPER_FIGURE1_SLOPES.slice(1).map((r) => r.imagenet / realPaper);
  const range = a.sizes.length > 0 ? `${a.sizes[0]}–${a.sizes[a.sizes.length - 1]}` : '—';
  return [
    heading(2, 'Context: the paper\'s slopes (ImageNet, not comparable in absolute terms)'),
    paragraph(
      'Fan et al., "Scaling Laws of Synthetic Images for Model Training ... for Now" (CVPR 2024), Figure 1: the ' +
        '"scaling ability" (fitted power-law slope) of supervised classifiers trained on real ImageNet or on ' +
        'synthetic images, evaluated on ImageNet, ImageNet-Sketch and ImageNet-R. Values are read off the figure (±0.005).',
    ),
    table(
      ['paper source (ImageNet training)', 'ImageNet', 'ImageNet-Sketch', 'ImageNet-R'],
      PAPER_FIGURE1_SLOPES.map((r) => [r.source, r.imagenet.toFixed(3), r.sketch.toFixed(3), r.r.toFixed(3)]),
    ),
    paragraph(
      joinText(
        [
          md`**Caveat.** These are the paper's ImageNet numbers, not a target for this sweep. They come from ImageNet-scale `,
          'training (N ≈ 0.125M–4M images) with large vision models and Stable Diffusion / Imagen / Muse images; this ',
          md`sweep uses ${dataset ? md`\`${dataset}\`` : 'a different dataset'}, N = ${range}, `,
          'its own small classifier and its own generator, so absolute slopes are not comparable. The paper does not ' +
            'confirm whether its slopes are fitted to loss or to error (most likely loss vs N). At most the qualitative ' +
            `pattern transfers: on clean ImageNet the paper's synthetic/real slope ratio is about ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ` +
            'while out of distribution (Sketch, R) some synthetic configurations scale more steeply than real data. ' +
            'Prompt strategies beyond class names, CLIP templates and captions have no numbers in the paper.',
        ],
        '',
      ),
    ),
    paragraph(
      joinText(
        [
          md`**Measuring pitfall.**`,
          ' The cross-entropy on real test data of a model trained on synthetic images can rise with ' +
            'N even while its accuracy rises (it grows confident on the generator\'s clean modes and is confidently wrong on ' +
            'real images). This report therefore fits both loss and top-1 error, shows each fit\'s quality, reports ECE, and ' +
            'withholds the slope of any curve that is not monotone decreasing.',
        ],
        '',
      ),
    ),
  ];
}

/** What the report activity adds to ReportMeta: the sweep's cost from the workers' usage records. */
export interface CostReportMeta {
  cost?: SweepCost;
}

export function runSections(a: SweepAnalysis, meta: ReportMeta & CostReportMeta): Block[] {
  const out: Block[] = [];
  const curveWarnings = a.curves.flatMap((c) => c.warnings.map((w) => `${c.source} (${c.evalSet}): ${w}`));
  if (a.warnings.length > 0 || curveWarnings.length > 0) out.push(heading(2, 'Warnings'), list([...a.warnings, ...curveWarnings]));
  out.push(...timeSection(meta), ...costSections(meta.cost));
  if (meta.notes && meta.notes.length > 0) out.push(heading(2, 'Notes'), list(meta.notes));
  return out;
}

/**
 * Wall time and activity time, side by side and never summed into each other: stages run in
 * parallel, so their spans overlap and add up to more than the sweep's elapsed time.
 */
function timeSection(meta: ReportMeta & CostReportMeta): Block[] {
  const cost = meta.cost;
  if (cost && cost.stages.length > 0) {
    const attempts = (n: number, failed: number) => (failed > 0 ? `${n} (${failed} failed)` : String(n));
    return [
      heading(2, 'Time'),
      paragraph(
        `The sweep ran for ${duration(cost.wall.seconds)} of wall time (from its start to this report). A stage's wall span runs from its first attempt's start ` +
          'to its last attempt\'s end; stages run side by side, so spans overlap and do not add up to the sweep\'s time. Activity time sums the attempts\' ' +
          'own durations: workers busy at once each count.',
      ),
      table(
        ['stage', 'wall span (overlapping)', 'activity time (summed)', 'attempts'],
        [
          ...cost.stages.map((s) => [s.stage, duration(s.wall.seconds), duration(s.activitySeconds), attempts(s.attempts, s.failedAttempts)]),
          [md`**sweep**`, md`${duration(cost.wall.seconds)} (elapsed)`, duration(cost.totals.activitySeconds), attempts(cost.totals.attempts, cost.totals.failedAttempts)],
        ],
      ),
    ];
  }
  // No usage records (workers from before them): the workflow's own phase timings, without a misleading total.
  const timings = Object.entries(meta.stageTimings ?? {});
  if (timings.length === 0) return [];
  return [
    heading(2, 'Time'),
    paragraph('Wall time of each phase of the sweep workflow. Phases run side by side (data sources in parallel, cells while sources finish), so these overlap and are not added up.'),
    table(['phase', 'wall time (overlapping)'], timings.map(([k, v]) => [k, duration(v)])),
  ];
}

/** How the sheets show their images: "32x32 RGB images shown at 64 px, scaled up without smoothing"; several phrases when sources differ. */
function sheetScaleText(sheets: readonly SampleSheet[]): string {
  const phrases = sheets.map(({ geometry, cell }) => {
    const how = cell === geometry.size ? 'shown as they are' : cell > geometry.size ? `shown at ${cell} px, scaled up without smoothing` : `shown at ${cell} px, reduced by area averaging`;
    return `${geometryText(geometry)} images ${how}`;
  });
  return [...new Set(phrases)].join('; ');
}

export function samplesSection({ sampleSheets: sheets = [], sampleProblems: problems = [] }: ReportExtras): Block[] {
  if (sheets.length === 0 && problems.length === 0) return [];
  const perClass = Math.max(0, ...sheets.map((s) => s.columns));
  const subset = sheets.find((s) => s.classes.length < s.classCount);
  return [
    heading(2, 'Samples'),
    ...(sheets.length > 0
      ? [
          paragraph(
            `The first ${perClass} images of each class in each source's manifest order (the images its classifiers train on first): ` +
              `one row per class${subset ? ` (${subset.classes.length} of the ${subset.classCount} classes, spread evenly over the class list)` : ''}, ` +
              `real images first, then each synthetic source with its CFG scale; ${sheetScaleText(sheets)}.`,
          ),
          { kind: 'gallery', images: sheets.map((s) => ({ file: s.file, alt: s.caption })) } satisfies Block,
        ]
      : []),
    ...(problems.length > 0 ? [list(problems)] : []),
  ];
}

export function specSection(spec: unknown): Block[] {
  if (spec === undefined) return [];
  return [{ kind: 'code', summary: 'Sweep spec', language: 'json', code: JSON.stringify(spec, null, 2) ?? 'null' }];
}

