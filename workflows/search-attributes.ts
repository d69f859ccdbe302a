// Custom search attributes (registered by infra/stack.sh) so the Temporal UI can filter a sweep's workflows.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SWEEP_ID = defineSearchAttributeKey('SynthscaleSweepId', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('SynthscaleStage', SearchAttributeType.KEYWORD);
export const DATA_SOURCE = defineSearchAttributeKey('SynthscaleSource', SearchAttributeType.KEYWORD);
/** A cell's N (images trained on): `SynthscaleSize=1000` or `SynthscaleSize>=10000`. */
export const SIZE = defineSearchAttributeKey('SynthscaleSize', SearchAttributeType.INT);

/** Names and types for `temporal server start-dev --search-attribute Name=Type`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['SynthscaleSweepId=Keyword', 'SynthscaleStage=Keyword', 'SynthscaleSource=Keyword', 'SynthscaleSize=Int'];
