// The classifier architectures by name. No imports, so the spec's schema (contracts/spec) can
// build its enum from this tuple without loading TF.js; registry.ts maps every name to its
// definition, and the compiler keeps the two in step.
export const MODEL_ARCHS = ['mlp', 'cnn', 'resnet'] as const;
export type ModelArch = (typeof MODEL_ARCHS)[number];
