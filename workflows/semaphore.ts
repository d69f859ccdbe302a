// A sliding-window semaphore for fan-out inside workflow code. Waiting goes through
// `condition()`, so a cancelled workflow stops waiting (a plain Promise would hang forever).
import { condition } from '@temporalio/workflow';

export class Semaphore {
  private active = 0;

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    // Several waiters can be woken in one activation; each re-checks after waking.
    for (;;) {
      if (this.active < this.limit) {
        this.active++;
        return;
      }
      await condition(() => this.active < this.limit);
    }
  }

  release(): void {
    this.active--;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
