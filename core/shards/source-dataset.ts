// What the writers of a source's shards need of the sweep's dataset: its class names, the geometry
// every image is stored at, and its title for descriptions. A dataset fingerprint without a
// descriptor in the store (or none at all) is Fashion-MNIST at 28x28 grey, as before descriptors.
import { datasetDescriptor, type ActivityDeps } from '../activity-deps.js';
import { FASHION_MNIST_CLASSES } from '../datasets/fashion-mnist.js';
import { FASHION_MNIST_GEOMETRY, sameGeometry, type ImageGeometry } from '../image/geometry.js';

export interface SourceDataset {
  classes: string[];
  geometry: ImageGeometry;
  title: string;
  /** Fashion-MNIST's classes at 28x28 grey: every name, key and byte as before geometries. */
  legacy: boolean;
}

const LEGACY: Readonly<SourceDataset> = Object.freeze({ classes: [...FASHION_MNIST_CLASSES], geometry: FASHION_MNIST_GEOMETRY, title: 'Fashion-MNIST', legacy: true });

export async function sourceDataset(deps: ActivityDeps, fingerprint: string | undefined): Promise<SourceDataset> {
  const descriptor = fingerprint === undefined ? null : await datasetDescriptor(deps, fingerprint);
  if (!descriptor) return { ...LEGACY, classes: [...LEGACY.classes] };
  const legacy = sameGeometry(descriptor.geometry, FASHION_MNIST_GEOMETRY) && descriptor.classes.join('\n') === FASHION_MNIST_CLASSES.join('\n');
  return { classes: [...descriptor.classes], geometry: descriptor.geometry, title: descriptor.title, legacy };
}
