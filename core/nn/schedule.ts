// The learning rate of each optimizer step: a function of the step alone, so a resumed run needs
// no schedule state beyond the step counter and the planned steps.

export const LEARNING_RATE_SCHEDULES = ['constant', 'cosine'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];

export const isSchedule = (x: unknown): x is LearningRateSchedule => LEARNING_RATE_SCHEDULES.includes(x as LearningRateSchedule);

/**
 * The learning rate of the step taken after `step` completed steps of `plannedSteps`: constant,
 * or cosine decay lr x 0.5(1 + cos(pi step / plannedSteps)) (the first step at lr, towards 0 at
 * the planned end; early stopping does not stretch it).
 */
export function learningRateAt(recipe: { learningRate: number; schedule: LearningRateSchedule }, step: number, plannedSteps: number): number {
  if (recipe.schedule === 'constant') return recipe.learningRate;
  return recipe.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / plannedSteps));
}
