import { locateFashionMnist } from '../core/datasets/fashion-mnist.js';
import { projectDataDir } from '../core/activity-deps.js';

try {
  console.error(`[setup] Fashion-MNIST: ${await locateFashionMnist(projectDataDir())}`);
} catch (err) {
  console.error(`[setup] ${(err as Error).message}`);
  process.exitCode = 1;
}
