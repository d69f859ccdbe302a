// Failure types: the names activities and workflows throw non-retryable failures under, and the
// list the activity proxies never retry. A failure of one of these types is bad input: retrying
// cannot help, so it fails at once with a message naming the field and the fix.

export const FAILURE_TYPES = {
  /** The sweep spec does not validate (names the field). */
  invalidSpec: 'InvalidSpec',
  /** A stage input is inconsistent (e.g. manifests with other classes mixed together). */
  invalidInput: 'InvalidInput',
  /** A prompt strategy's options are wrong (names the field). */
  invalidPromptConfig: 'InvalidPromptConfig',
  /** An image in a shard or a response cannot be decoded. */
  malformedImage: 'MalformedImage',
  /** More items failed for good than the spec's generation.failureBudget allows. */
  failureBudgetExceeded: 'FailureBudgetExceeded',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/** Every failure type above: the activity proxies' nonRetryableErrorTypes. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = Object.values(FAILURE_TYPES);
