// The report's figure files: each chart as SVG beside its PNG copy, under the report's key.

export const SCALING_FIGURE = { file: 'scaling.svg', raster: 'scaling.png' } as const;
export const RECOGNIZABILITY_FIGURE = { file: 'recognizability.svg', raster: 'recognizability.png' } as const;
