export { scalingSweepWorkflow, sweepProgressQuery } from './scaling-sweep.js';
export { dataSourceWorkflow, dataSourceProgressQuery } from './data-source.js';
export { trainCellWorkflow } from './train-cell.js';
