// Resuming a shard from the parts an earlier attempt committed: it lists them (so it resumes even
// when the last heartbeat was lost) and continues after the last contiguous valid part; a corrupt
// or foreign part is deleted and regenerated from there.
import { log } from '@temporalio/activity';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { ShardFormatError, type ShardSample } from '../../core/shards/webdataset.js';
import { ChecksumMismatchError, NotFoundError, type BlobStore } from '../../core/storage.js';
import { errorMessage } from './cancellation.js';
import type { GenerateShardInput } from './io.js';
import { deleteParts, InvalidPartError, listParts, partKey, partMetaKey, readPart, type VerifiedPart } from './parts.js';

export interface Resume {
  offset: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
  /** The verified parts' tars, in order. */
  tars: Uint8Array[];
  /** Part keys (tars and sidecars) seen in storage. */
  existing: Set<string>;
}

/** The samples and failed items of the valid parts in storage, from offset 0 up to the first gap. */
export async function resumeFromParts(
  store: BlobStore,
  input: GenerateShardInput,
  fingerprint: string,
  onCorrupt: (reason: string) => void,
): Promise<Resume> {
  const existing = new Set(await listParts(store, input.shardKey));
  const samples: ShardSample[] = [];
  const failedItems: ShardRecord['failedItems'] = [];
  const tars: Uint8Array[] = [];
  let offset = 0;
  while (offset < input.count) {
    const metaKey = partMetaKey(input.shardKey, offset);
    // The listing may lag behind (object stores) or be unavailable (root keys): probe the sidecar too.
    if (!existing.has(metaKey) && !(await store.head(metaKey))) break;
    existing.add(metaKey).add(partKey(input.shardKey, offset));
    let part: VerifiedPart | 'stale';
    try {
      part = await readPart(store, input, offset, fingerprint);
    } catch (err) {
      if (err instanceof NotFoundError) break; // an uncommitted part: regenerate from here
      if (!(err instanceof ChecksumMismatchError || err instanceof InvalidPartError || err instanceof ShardFormatError)) throw err;
      onCorrupt(errorMessage(err));
      await deleteParts(store, input.shardKey, [metaKey, partKey(input.shardKey, offset)]);
      break;
    }
    if (part === 'stale') {
      log.warn('ignoring a part written for other inputs', { part: partKey(input.shardKey, offset) });
      await deleteParts(store, input.shardKey, [metaKey, partKey(input.shardKey, offset)]);
      break;
    }
    samples.push(...part.samples);
    failedItems.push(...part.failedItems);
    tars.push(part.tar);
    offset = part.end;
  }
  return { offset, samples, failedItems, tars, existing };
}
