import { RELEASE_STAGES, type CanaryStatus, type ReleaseOutcome, type ReleaseStatus, type StageError, type StageName, type StageState } from '../release/stages.js';

/**
 * The release's state as the status query reports it. Pure: the workflow feeds it
 * workflow-clock timestamps, so it is deterministic under replay. `onChange` runs after every
 * change (the workflow re-renders the Web UI's current details there).
 */
export class ReleaseTracker {
  private readonly states = new Map<StageName, StageState>(RELEASE_STAGES.map((s) => [s, { status: 'pending' }]));
  private outcome: ReleaseOutcome = { state: 'running', stage: RELEASE_STAGES[0] };
  private canary: CanaryStatus | undefined;

  constructor(
    private readonly releaseId: string,
    private readonly name: string,
    private readonly version: string,
    private readonly onChange: () => void = () => undefined,
  ) {}

  started(stage: StageName, at: string): void {
    this.states.set(stage, { status: 'running', startedAt: at });
    this.outcome = { state: 'running', stage };
    this.onChange();
  }

  succeeded(stage: StageName, at: string, summary: Record<string, string | number>): void {
    this.states.set(stage, { status: 'succeeded', startedAt: this.startedAt(stage, at), finishedAt: at, summary });
    this.onChange();
  }

  failed(stage: StageName, at: string, error: StageError): void {
    this.states.set(stage, { status: 'failed', startedAt: this.startedAt(stage, at), finishedAt: at, error });
    this.outcome = { state: 'failed', stage, error };
    this.onChange();
  }

  skipped(stage: StageName, reason: string): void {
    this.states.set(stage, { status: 'skipped', reason });
    this.onChange();
  }

  released(bundleDir: string, rootDigest: string): void {
    this.outcome = { state: 'released', bundleDir, rootDigest };
    this.onChange();
  }

  /** Set by the canary stage. */
  canaryStatus(status: CanaryStatus): void {
    this.canary = status;
    this.onChange();
  }

  snapshot(): ReleaseStatus {
    return {
      releaseId: this.releaseId,
      name: this.name,
      version: this.version,
      outcome: this.outcome,
      stages: RELEASE_STAGES.map((name) => ({ name, state: this.states.get(name)! })),
      ...(this.canary ? { canary: this.canary } : {}),
    };
  }

  private startedAt(stage: StageName, fallback: string): string {
    const state = this.states.get(stage);
    return state && 'startedAt' in state ? state.startedAt : fallback;
  }
}
