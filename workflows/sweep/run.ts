// The state of one run of the sweep workflow: what continue-as-new carries (plan, finished
// sources, cell cursors, counters), stage timing, and the pause/resume/progress handlers.
import { getExternalWorkflowHandle, patched, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { sourceWorkflowPart } from '../../contracts/keys.js';
import type { SweepPlan } from '../../contracts/plan.js';
import {
  emptyGenerationStats,
  type CellWorkflowOutput,
  type LiveLosses,
  type RecognizabilityRef,
  type SweepProgress,
  type SweepState,
  type SweepStats,
} from '../../contracts/sweep.js';
import type { SourceSummary } from '../../contracts/types.js';
import type { AdaptiveRunState } from '../../contracts/adaptive-run.js';
import { childId } from '../data-source.js';
import { STAGE } from '../search-attributes.js';
import { pauseSignal, progressQuery, resumeSignal, sourceProgressSignal } from '../signals.js';
import { liveSlopes, progressMarkdown, type SlopeLine } from './progress.js';

/** Least workflow time between two progress memos besides stage changes (each is a history event). */
const PROGRESS_MEMO_EVERY_MS = 60_000;

export class SweepRun {
  readonly runStarted = Date.now();
  stage: string;
  /** Cells running now, and cells started by this run (a page ends at spec.cellsPerRun). */
  readonly inFlight = { cells: 0, started: 0 };
  readonly stats: SweepStats;
  readonly cellsDoneAtRunStart: number;
  paused: boolean;
  readonly startedAt: number;
  readonly stageSeconds: Record<string, number>;
  plan: SweepPlan | undefined;
  /** Summaries of the sources whose data is ready, in the order they finished. */
  readonly sources: SourceSummary[];
  /** Per source: cells [0, cursor) in grid order are finished. */
  cursors: Record<string, number>;
  recognizability: RecognizabilityRef[] | undefined;
  /** Finished cells' losses per curve and N (carried), and the analysis's slopes once it ran. */
  readonly liveLosses: LiveLosses;
  fittedSlopes: SlopeLine[] | undefined;
  /** spec.adaptive: the loop's state (./adaptive.ts). */
  adaptive: AdaptiveRunState | undefined;
  /** When the progress memo was last written, and what it said (see publishProgressMemo). */
  private memo = { at: 0, stage: '', allDone: false };
  private readonly imagesBySource = new Map<string, { done: number; total: number }>();

  constructor(carried?: SweepState) {
    this.stage = carried ? 'cells' : 'plan';
    this.stats = carried ? { ...carried.stats } : { ...emptyGenerationStats(), cellsDone: 0, cellsCached: 0, cellsTotal: 0, trainStepsRun: 0, cellActivityRetries: 0, runs: 0 };
    this.stats.runs++;
    this.cellsDoneAtRunStart = this.stats.cellsDone;
    this.paused = carried?.paused ?? false;
    this.startedAt = carried?.startedAt ?? this.runStarted;
    this.stageSeconds = carried?.stageSeconds ?? {};
    this.plan = carried?.plan;
    this.sources = carried?.sources ?? [];
    this.cursors = carried?.cursors ?? {};
    this.recognizability = carried?.recognizability;
    this.liveLosses = carried?.liveLosses ?? {};
    this.adaptive = carried?.adaptive;
  }

  installHandlers(): void {
    setHandler(pauseSignal, async () => {
      this.paused = true;
      await this.forward(pauseSignal);
    });
    setHandler(resumeSignal, async () => {
      this.paused = false;
      await this.forward(resumeSignal);
    });
    setHandler(sourceProgressSignal, (update) => {
      this.imagesBySource.set(update.source, { done: update.imagesDone, total: update.imagesTotal });
      this.showProgress();
    });
    setHandler(progressQuery, (): SweepProgress => this.progress());
  }

  /** Pause and resume also reach the data-source children still generating, so no new shard starts. */
  private async forward(signal: typeof pauseSignal | typeof resumeSignal): Promise<void> {
    const running = (this.plan?.spec.sources ?? []).filter((s) => !this.sources.some((done) => done.name === s.name));
    await Promise.all(running.map((s) => getExternalWorkflowHandle(childId(sourceWorkflowPart(s.name))).signal(signal).catch(() => undefined)));
  }

  progress(): SweepProgress {
    const { stats } = this;
    const cellsThisRun = stats.cellsDone - this.cellsDoneAtRunStart;
    const remaining = stats.cellsTotal - stats.cellsDone;
    const images = [...this.imagesBySource.values()].reduce((a, b) => ({ done: a.done + b.done, total: a.total + b.total }), { done: 0, total: 0 });
    return {
      sweepId: this.plan?.spec.sweepId ?? '',
      stage: this.stage,
      paused: this.paused,
      sources: { done: this.sources.length, total: this.plan?.spec.sources.length ?? 0 },
      images,
      cells: { done: stats.cellsDone, running: this.inFlight.cells, total: stats.cellsTotal, cached: stats.cellsCached },
      stats,
      elapsedSeconds: (Date.now() - this.startedAt) / 1000,
      etaSeconds: cellsThisRun > 0 && remaining > 0 ? ((Date.now() - this.runStarted) / 1000 / cellsThisRun) * remaining : null,
      ...(this.adaptive
        ? { adaptive: { round: this.adaptive.round, intervals: this.adaptive.intervals, stop: this.adaptive.stop, budget: this.adaptive.budget, cellsAdded: this.adaptive.cellsAdded } }
        : {}),
    };
  }

  setStage(next: string): void {
    this.stage = next;
    upsertSearchAttributes([{ key: STAGE, value: next }]);
    this.showProgress();
  }

  /** The UI's current details (no history event): what the progress query says, as markdown. */
  showProgress(): void {
    const markdown = progressMarkdown(this.progress(), this.fittedSlopes ?? liveSlopes(this.liveLosses));
    setCurrentDetails(markdown);
    this.publishProgressMemo(markdown);
  }

  /**
   * The current details are served by a query, so the UI shows them only while a worker is up; the
   * memo (one history event per upsert) is read from the server. So the progress also goes into
   * the memo: on a stage change, when the last cell finishes, and else at most once a minute.
   */
  private publishProgressMemo(markdown: string): void {
    const now = Date.now();
    const { stage } = this;
    const allDone = this.stats.cellsTotal > 0 && this.stats.cellsDone === this.stats.cellsTotal;
    const due = stage !== this.memo.stage || (allDone && !this.memo.allDone) || now - this.memo.at >= PROGRESS_MEMO_EVERY_MS;
    if (!due || !patched('progress-memo')) return;
    this.memo = { at: now, stage, allDone };
    upsertMemo({ progress: markdown.replace(/\*\*/g, '').split('  \n').join(' · ') });
  }

  /** A cell finished: its counters, and its first eval set's loss for the live slopes. */
  cellFinished(curve: string, size: number, result: CellWorkflowOutput): void {
    const { stats } = this;
    stats.cellsDone++;
    stats.trainStepsRun += result.stepsRun;
    stats.cellActivityRetries += result.activityRetries;
    if (result.cached) stats.cellsCached++;
    const loss = result.metrics?.[0]?.loss;
    if (loss !== undefined && Number.isFinite(loss)) {
      const bySize = (this.liveLosses[curve] ??= {});
      const at = (bySize[String(size)] ??= { sum: 0, cells: 0 });
      at.sum += loss;
      at.cells++;
    }
  }

  addSeconds(name: string, since: number): void {
    this.stageSeconds[name] = (this.stageSeconds[name] ?? 0) + (Date.now() - since) / 1000;
  }

  summaryOf(name: string): SourceSummary | undefined {
    return this.sources.find((s) => s.name === name);
  }

  /** What the next run starts from after continue-as-new (cursors and counters, no per-cell data). */
  carried(plan: SweepPlan): SweepState {
    return {
      plan,
      sources: this.sources,
      cursors: this.cursors,
      stats: this.stats,
      startedAt: this.startedAt,
      stageSeconds: this.stageSeconds,
      paused: this.paused,
      ...(this.recognizability ? { recognizability: this.recognizability } : {}),
      ...(Object.keys(this.liveLosses).length > 0 ? { liveLosses: this.liveLosses } : {}),
      ...(this.adaptive ? { adaptive: this.adaptive } : {}),
    };
  }
}
