// The sweep spec's `adaptive` block: the intervals a sweep measures until they are narrow enough
// (targets), the budget it may spend, and its first round. The spec's own sizes and seeds are the
// envelope the loop draws from. Cross-field checks (sources, envelope) are contracts/adaptive.ts's
// adaptiveSpecIssues; the zod-free types and helpers live there too, so workflow code can use them.
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use 1-63 lowercase letters, digits and dashes, starting with a letter or digit');

const source = name.describe('the source measured: a source of this spec');
const real = name.optional().describe('the real source it is compared with (default: the first real source of the spec)');
const evalSet = name.optional().describe('the eval set it is measured on (default: the first eval set)');
const metric = z.enum(['error', 'loss']).default('error').describe('top-1 error (1 - accuracy) or test loss against N');
const atN = z.number().int().min(10).max(1_000_000).describe('the N it is read at: one of the spec\'s sizes');
const halfWidth = (what: string, max: number) =>
  z.number().positive().max(max).describe(`the half-width of the interval wanted, in ${what}: the target is met when the interval is at most this wide on each side`);

const SlopeTarget = z
  .object({ quantity: z.literal('slope').describe("the source's scaling exponent b in y = a N^-b"), source, metric, evalSet, halfWidth: halfWidth('units of b', 10) })
  .strict();

const SlopeRatioTarget = z
  .object({
    quantity: z.literal('slopeRatio').describe("the source's exponent over the real source's"),
    source,
    real,
    metric,
    evalSet,
    halfWidth: halfWidth('units of the ratio', 10),
  })
  .strict();

const AccuracyGapTarget = z
  .object({
    quantity: z.literal('accuracyGap').describe("the source's mean accuracy minus the real source's, at N = n"),
    source,
    real,
    n: atN,
    evalSet,
    halfWidth: halfWidth('accuracy (a fraction)', 1),
  })
  .strict();

const RealEquivalentTarget = z
  .object({
    quantity: z
      .literal('realEquivalent')
      .describe("how many real images the source's n images are worth: the real source's fitted power law inverted at the source's mean at n"),
    source,
    real,
    n: atN,
    metric,
    evalSet,
    relHalfWidth: z
      .number()
      .positive()
      .max(5)
      .describe('the half-width wanted of the interval of ln(N_eq), i.e. relative: 0.25 is about ±25%'),
  })
  .strict();

const MixingGainTarget = z
  .object({
    quantity: z.literal('mixingGain').describe("a mixed source's mean accuracy minus its own real part's, at the same real N = n"),
    source: name.describe('a mixed source of this spec'),
    n: atN,
    evalSet,
    halfWidth: halfWidth('accuracy (a fraction)', 1),
  })
  .strict();

export const AdaptiveTargetSchema = z.discriminatedUnion('quantity', [SlopeTarget, SlopeRatioTarget, AccuracyGapTarget, RealEquivalentTarget, MixingGainTarget]);

export const AdaptiveBudgetSchema = z
  .object({
    cells: z.number().int().min(1).max(20_000).optional().describe('at most this many cells trained in all, the first round included'),
    images: z.number().int().min(1).optional().describe('at most this many training images in all: the sum of N over the cells trained'),
    hours: z.number().positive().max(24 * 365).optional().describe('at most this many hours of training time (the cells\' own training seconds)'),
  })
  .strict()
  .refine((b) => b.cells !== undefined || b.images !== undefined || b.hours !== undefined, {
    message: 'give at least one of cells, images or hours, e.g. { cells: 200 }',
  })
  .describe('when the loop stops even with targets unmet; a round that would pass any limit is not started');

export const AdaptiveSchema = z
  .object({
    initial: z
      .object({
        sizes: z
          .array(z.number().int().min(10).max(1_000_000))
          .min(1)
          .max(64)
          .refine((s) => new Set(s).size === s.length, 'sizes must be unique')
          .optional()
          .describe('the first round\'s N, a subset of the spec\'s sizes (default: 3 spread over them in log space, smallest and largest included)'),
        seeds: z
          .array(z.number().int().min(0))
          .min(1)
          .max(64)
          .refine((s) => new Set(s).size === s.length, 'seeds must be unique')
          .optional()
          .describe('the first round\'s seeds, a subset of the spec\'s seeds (default: its first 2)'),
      })
      .strict()
      .default({})
      .describe('round 0: every source of the spec at these sizes x seeds'),
    targets: z
      .array(AdaptiveTargetSchema)
      .min(1)
      .max(32)
      .describe('the quantities to measure and how precisely; the loop runs until every interval is this narrow or the budget is spent'),
    budget: AdaptiveBudgetSchema,
    cellsPerRound: z.number().int().min(1).max(500).default(8).describe('at most this many cells chosen per round after the first'),
    level: z.number().min(0.5).max(0.999).default(0.95).describe('the confidence level of every interval'),
  })
  .strict()
  .describe('an adaptive sweep: the spec\'s sizes and seeds are the envelope it draws cells from, round after round');
