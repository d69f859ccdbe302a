export { scalingSweepWorkflow } from './scaling-sweep.js';
export { dataSourceWorkflow } from './data-source.js';
export { trainCellWorkflow } from './train-cell.js';
