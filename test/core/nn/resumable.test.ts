// Resuming a training activity's cell (core/nn/resumable.ts): the stored checkpoint, the restart
// from scratch on another run's checkpoint, and the step accounting.
// Run: node --import tsx --test test/core/nn/resumable.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CorruptModelError } from '../../../core/nn/container.js';
import { storedCheckpoint, trainResumable } from '../../../core/nn/resumable.js';
import { CheckpointMismatchError, type Checkpoint, type LoopProgress, type TrainerOptions } from '../../../core/nn/trainer.js';
import { openStore } from '../../../core/storage.js';

/** A fake trainer: steps from the checkpoint's step to 5, reporting each; rejects checkpoints with step 3. */
async function fakeTrain(opts: TrainerOptions<LoopProgress>) {
  if (opts.resume?.step === 3) throw new CheckpointMismatchError('another run');
  const from = opts.resume?.step ?? 0;
  for (let step = from + 1; step <= 5; step++) {
    if (step % 2 === 0) await opts.onCheckpoint?.({ step, totalSteps: 5, bytes: new Uint8Array([step]) });
    if (step !== 4) opts.onProgress?.({ step, totalSteps: 5, epoch: 0, loss: 1 });
  }
  return { steps: 5, resumedFromStep: from };
}

function run(resume: Checkpoint | null) {
  const events: string[] = [];
  const done = trainResumable({
    resume,
    seed: 1,
    train: fakeTrain,
    saveCheckpoint: async (c) => void events.push(`save ${c.step}`),
    onProgress: (p) => void events.push(`progress ${p.step}`),
    onMismatch: (reason) => void events.push(`mismatch ${reason}`),
    onSteps: (from, to) => void events.push(`steps ${from}-${to}`),
  });
  return { done, events };
}

describe('trainResumable', () => {
  test('counts each stretch of new steps once, and a checkpoint\'s steps before it is saved', async () => {
    const { done, events } = run({ step: 1, totalSteps: 5, bytes: new Uint8Array() });
    assert.deepEqual(await done, { steps: 5, resumedFromStep: 1 });
    // Steps up to a checkpoint are counted when it is saved: an attempt that dies before its next
    // progress report still shows them (the work ledger counts redone steps from these).
    assert.deepEqual(events, ['steps 1-2', 'save 2', 'progress 2', 'steps 2-3', 'progress 3', 'steps 3-4', 'save 4', 'steps 4-5', 'progress 5']);
  });

  test("another run's checkpoint: from scratch, counting from 0", async () => {
    const { done, events } = run({ step: 3, totalSteps: 5, bytes: new Uint8Array() });
    assert.deepEqual(await done, { steps: 5, resumedFromStep: 0 });
    assert.deepEqual(events.slice(0, 3), ['mismatch another run', 'steps 0-1', 'progress 1']);
  });
});

describe('storedCheckpoint', () => {
  test('absent, unreadable and readable checkpoints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synthscale-resumable-'));
    try {
      const store = openStore(dir);
      const warnings: string[] = [];
      const hooks = { onCorrupt: (m: string) => void warnings.push(`corrupt ${m}`), onUnreadable: (m: string) => void warnings.push(`unreadable ${m}`) };
      const decode = (bytes: Uint8Array): Checkpoint => {
        if (bytes[0] !== 9) throw new CorruptModelError('bad bytes');
        return { step: bytes[1]!, totalSteps: 10, bytes };
      };
      assert.equal(await storedCheckpoint(store, 'c.bin', decode, hooks), null);
      await store.put('c.bin', new Uint8Array([1, 2]));
      assert.equal(await storedCheckpoint(store, 'c.bin', decode, hooks), null);
      assert.deepEqual(warnings, ['unreadable bad bytes']);
      await store.put('c.bin', new Uint8Array([9, 4]));
      assert.equal((await storedCheckpoint(store, 'c.bin', decode, hooks))?.step, 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
