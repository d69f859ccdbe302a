// The two hashes of an import:
// - the LISTING KEY, known before anything is decoded: code version, geometry, the spec's settings,
//   the class and wnid lists as given (file contents, not names), the wanted label order, and per
//   split every input's id, size and change stamp (mtime, or GCS generation and md5). It names the
//   import's folder `datasets/imports/<listingKey>/` and its result.json, so an unchanged rerun
//   returns at once without decoding;
// - the FINGERPRINT, known at the end: code version, geometry, classes, wnids, and per split a hash
//   chain over the accepted items in order, chain' = sha256(chain, [item id, label, sha256 of the
//   file bytes]). A chain is 32 bytes, so a heartbeat cursor carries it and a resumed import ends
//   with the fingerprint of an uninterrupted one; any changed file changes it.
import { createHash, type Hash } from 'node:crypto';
import type { ImageGeometry } from '../../core/image/geometry.js';
import { canonicalJson, sha256Hex } from '../../core/hash.js';

/** Start of a split's chain. */
export function chainStart(split: string): string {
  return sha256Hex(`synthscale-dataset-split|${split}`);
}

/** The chain after one more accepted item. */
export function chainNext(chain: string, id: string, label: number, fileSha256: string): string {
  return createHash('sha256').update(chain).update('\n').update(JSON.stringify([id, label, fileSha256])).digest('hex');
}

export interface FingerprintInputs {
  codeVersion: string;
  geometry: ImageGeometry;
  classes: string[];
  wnids?: (string | null)[];
  /** Split name -> its final chain. */
  chains: Record<string, string>;
}

/** 24 hex digits (a descriptor key segment). */
export function datasetFingerprint(inputs: FingerprintInputs): string {
  return sha256Hex(canonicalJson({ what: 'imported-dataset', ...inputs, wnids: inputs.wnids ?? null })).slice(0, 24);
}

export interface ListingInputs {
  codeVersion: string;
  /** Settings that change what is stored: geometry, spec fields, class list digests, wanted order. */
  settings: Record<string, unknown>;
  splits: { split: string; describe(hash: Hash): void }[];
}

/** 24 hex digits; the per-split input lines are streamed into the hash, never joined in memory. */
export function listingKey(inputs: ListingInputs): string {
  const hash = createHash('sha256').update(canonicalJson({ what: 'dataset-import-listing', codeVersion: inputs.codeVersion, settings: inputs.settings }));
  for (const s of inputs.splits) {
    hash.update(`\nsplit ${s.split}\n`);
    s.describe(hash);
  }
  return hash.digest('hex').slice(0, 24);
}
