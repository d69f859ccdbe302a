// The sweep spec's `cost` field: prices that turn the measured CPU- and GPU-seconds into money
// in the report's Cost section (contracts/cost.ts). Optional: without it the report shows the
// machine time only. Prices never change what a sweep computes, only what its report says.
import { z } from 'zod';

const price = (what: string) =>
  z
    .number({ error: `must be a number of US dollars per ${what}, e.g. 0.05` })
    .finite(`must be a finite number of US dollars per ${what}`)
    .nonnegative(`must be >= 0 US dollars per ${what}`)
    .max(1_000_000, `must be at most 1,000,000 US dollars per ${what}`);

export const CostPricesSchema = z
  .object({
    cpuHourUsd: price('CPU-hour')
      .default(0)
      .describe('US dollars per CPU-hour: one hour of one core busy (process CPU time, user + system) on any worker'),
    gpuHourUsd: price('GPU-hour')
      .default(0)
      .describe('US dollars per GPU-hour: one hour a train worker holds one GPU, busy or not'),
  })
  .strict()
  .describe('prices for the report\'s cost per stage, per source and in total, e.g. { cpuHourUsd: 0.05, gpuHourUsd: 2.5 }');

export type CostPrices = z.output<typeof CostPricesSchema>;

/** The prices of a validated spec's `cost` field, or null when it has none (or an invalid one: specs are validated before they get here). */
export function pricesOf(spec: unknown): CostPrices | null {
  const cost = spec && typeof spec === 'object' ? (spec as { cost?: unknown }).cost : undefined;
  if (cost === undefined) return null;
  const parsed = CostPricesSchema.safeParse(cost);
  return parsed.success ? parsed.data : null;
}
