import { locateFashionMnist } from '../core/fashion-mnist.js';
import { projectDataDir } from '../activities/context.js';

try {
  console.error(`[setup] Fashion-MNIST: ${await locateFashionMnist(projectDataDir())}`);
} catch (err) {
  console.error(`[setup] ${(err as Error).message}`);
  process.exitCode = 1;
}
