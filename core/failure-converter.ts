// Failure converter used when payloads are encrypted (core/payload-codec.ts dataConverterFromEnv):
// failure messages and stack traces move into `encodedAttributes`, a payload the codec encrypts;
// the plain `message` field holds only "Encoded failure". Loaded by path (`failureConverterPath`)
// into the workflow sandbox and the worker and client processes, so it imports nothing else.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
