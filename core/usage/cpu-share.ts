// CPU time of one process split among the activity attempts that ran in it.
//
// process.cpuUsage() counts the whole process (every thread: TF's kernel threads, libuv, the
// Temporal SDK's own work, and on the cpu worker the workflow tasks too). Activities that overlap
// in one worker share that one counter, and nothing tells which of them burned a given
// microsecond, so the CPU time between two events (an attempt starting or ending) is split evenly
// among the attempts running in that interval. This is exact for a worker running one activity at
// a time (the train worker's default), and an even-share approximation otherwise; CPU time spent
// while no activity runs (polling, workflow tasks between activities) is attributed to nobody.

/** Microseconds of CPU (user + system) the process has used so far. */
export type CpuClock = () => number;

export const processCpuMicros: CpuClock = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

export class CpuShare {
  private readonly running = new Map<number, { micros: number }>();
  private nextId = 1;
  private last: number;

  constructor(private readonly clock: CpuClock = processCpuMicros) {
    this.last = clock();
  }

  /** An attempt starts: returns its token for `end`. */
  begin(): number {
    this.settle();
    const id = this.nextId++;
    this.running.set(id, { micros: 0 });
    return id;
  }

  /** An attempt ends: its share of the process's CPU time since it began, in seconds. */
  end(id: number): number {
    this.settle();
    const share = this.running.get(id);
    this.running.delete(id);
    return share ? share.micros / 1e6 : 0;
  }

  /** Attempts running now. */
  get active(): number {
    return this.running.size;
  }

  /** Split the CPU time since the last event evenly among the attempts running in that interval. */
  private settle(): void {
    const now = this.clock();
    const delta = Math.max(0, now - this.last);
    this.last = now;
    if (this.running.size === 0) return;
    const each = delta / this.running.size;
    for (const share of this.running.values()) share.micros += each;
  }
}
