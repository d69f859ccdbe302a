// An adaptive sweep's stored decisions (one document per round), read back in round order by the
// next decision, the analysis and the report. Bounded reads: a round's document is small.
import type { ActivityDeps } from '../../../core/activity-deps.js';
import { getJson } from '../../../core/storage.js';
import type { DecisionDocument } from '../../../contracts/adaptive-run.js';

const MAX_DECISION_BYTES = 4 * 1024 * 1024;

export async function readDecisions(deps: ActivityDeps, uris: readonly string[]): Promise<DecisionDocument[]> {
  const docs = await Promise.all(uris.map((uri) => getJson<DecisionDocument>(deps.store, deps.store.keyOf(uri), MAX_DECISION_BYTES)));
  docs.forEach((doc, i) => {
    if (doc.round !== i + 1) throw new Error(`${uris[i]} is round ${doc.round}, expected round ${i + 1}: the sweep's decisions are out of order`);
  });
  return docs;
}
