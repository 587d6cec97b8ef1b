import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities/index.js';
import type { CanaryDecision, CanaryPhase, CanaryStatus, ReleaseStageValue } from '../release/stages.js';
import type { ResolvedCanaryPlan } from '../canary/plan.js';
import { describe } from '../canary/analysis/judge.js';
import { STAGE_ACTIVITY_OPTIONS } from './activity-options.js';
import { abortUpdate, approveUpdate, promoteUpdate } from './definitions.js';

const { deployCanary, setCanaryWeight, analyzeCanary, promoteCanary, rollbackCanary } = proxyActivities<ReleaseActivities>(STAGE_ACTIVITY_OPTIONS.canary);

export interface CanaryResult {
  readonly outcome: 'promoted';
  readonly model: string;
  readonly firstVersion: boolean;
  readonly decisions: readonly CanaryDecision[];
}

const ACTIVE: readonly CanaryPhase[] = ['deploying', 'baking', 'analyzing', 'paused'];

/**
 * The canary as a small state machine over durable timers. Operators steer it with updates
 * whose validators reject what makes no sense in the current phase; every decision is kept
 * with its figures (status query, history). Fails with CanaryRolledBack after rolling back.
 */
export class CanaryController {
  private phase: CanaryPhase | undefined;
  private step = 0;
  private weight = 0;
  private readonly decisions: CanaryDecision[] = [];
  private approved = false;
  private promoteNext = false;
  private promoteFull = false;
  private abortReason: string | undefined;

  constructor(
    private readonly publish: (status: CanaryStatus) => void,
    private readonly setStage: (value: ReleaseStageValue) => void,
  ) {
    setHandler(
      approveUpdate,
      () => {
        this.approved = true;
        return 'approved: the canary goes on';
      },
      {
        description: 'Approve a paused canary (a pause step, or an analysis without enough data) so it goes on to the next step',
        validator: () => this.require(['paused'], 'approve'),
      },
    );
    setHandler(
      promoteUpdate,
      (options: { full?: boolean }) => {
        if (options.full) this.promoteFull = true;
        else this.promoteNext = true;
        return options.full ? 'promoting fully now' : 'going on to the next step';
      },
      {
        description: 'Promote the canary: to the next step, or fully ({ full: true }) skipping the remaining steps',
        validator: (_options: { full?: boolean }) => this.require(['baking', 'paused'], 'promote'),
      },
    );
    setHandler(
      abortUpdate,
      (options: { reason?: string }) => {
        this.abortReason = options.reason || 'aborted by an operator';
        return 'aborting: the canary will be rolled back';
      },
      {
        description: 'Abort the canary: it is rolled back (canary weight 0, canary slot cleared, stable untouched)',
        validator: (_options: { reason?: string }) => this.require(ACTIVE, 'abort'),
      },
    );
  }

  private require(phases: readonly CanaryPhase[], what: string): void {
    if (!this.phase || !phases.includes(this.phase)) {
      throw new Error(`cannot ${what} now: the canary is ${this.phase ?? 'not running yet'} (${what} works while it is ${phases.join(' or ')})`);
    }
  }

  private status(model: string, steps: number): void {
    this.publish({ model, phase: this.phase!, step: this.step, steps, weight: this.weight, decisions: [...this.decisions] });
  }

  private decide(model: string, steps: number, decision: Omit<CanaryDecision, 'at' | 'step' | 'weight'>): void {
    this.decisions.push({ at: new Date().toISOString(), step: this.step, weight: this.weight, ...decision });
    this.status(model, steps);
  }

  async run(plan: ResolvedCanaryPlan, bundleDir: string): Promise<CanaryResult> {
    const { model } = plan;
    const steps = plan.steps.length;
    const enter = (phase: CanaryPhase) => {
      this.phase = phase;
      this.status(model, steps);
    };
    enter('deploying');
    const deployed = await deployCanary({ model, bundleDir, shadow: plan.shadow });
    if (deployed.slot === 'stable') {
      this.decide(model, steps, { kind: 'first-version', summary: `no stable version to compare with: deployed straight to stable (${deployed.message})` });
      enter('promoted');
      return { outcome: 'promoted', model, firstVersion: true, decisions: this.decisions };
    }

    const rollBack = async (reason: string): Promise<never> => {
      enter('rolling-back');
      const done = await rollbackCanary({ model, bundleDir });
      enter('rolled-back');
      this.setStage('rolled_back');
      throw ApplicationFailure.create({
        type: 'CanaryRolledBack',
        message: `canary of ${model} rolled back: ${reason} (${done.message})`,
        nonRetryable: true,
        details: [{ reason, decisions: this.decisions }],
      });
    };
    // Waits for a person; true when approved or promoted, false when aborted. Times out into an abort.
    const waitForOperator = async (timeoutSeconds: number): Promise<void> => {
      enter('paused');
      this.setStage('paused');
      this.approved = false;
      const answered = await condition(() => this.approved || this.promoteNext || this.promoteFull || this.abortReason !== undefined, timeoutSeconds * 1000);
      this.setStage('canary');
      if (!answered) {
        this.decide(model, steps, { kind: 'timeout', summary: `no operator answered within ${timeoutSeconds}s: aborting` });
        await rollBack(`approval timed out after ${timeoutSeconds}s`);
      }
      if (this.abortReason !== undefined) {
        this.decide(model, steps, { kind: 'abort', summary: this.abortReason });
        await rollBack(this.abortReason);
      }
      this.decide(model, steps, { kind: this.approved ? 'approve' : 'promote', summary: this.approved ? 'approved by an operator' : 'promoted by an operator' });
      this.promoteNext = false;
    };

    for (this.step = 0; this.step < steps && !this.promoteFull; this.step++) {
      const step = plan.steps[this.step]!;
      if ('setWeight' in step) {
        this.weight = (await setCanaryWeight({ model, weight: step.setWeight })).weight;
        this.status(model, steps);
      } else if ('pause' in step) {
        this.decide(model, steps, { kind: 'pause', summary: 'pause step: waiting for an operator' });
        await waitForOperator(step.pause.timeoutSeconds ?? plan.approvalTimeoutSeconds);
      } else {
        // Bake, analyse; too little traffic extends the bake on the same window, then asks a person.
        const windowStart = Date.now();
        for (let extension = 0; ; extension++) {
          enter('baking');
          const interrupted = await condition(() => this.abortReason !== undefined || this.promoteNext || this.promoteFull, step.bakeSeconds * 1000);
          if (this.abortReason !== undefined) {
            this.decide(model, steps, { kind: 'abort', summary: this.abortReason });
            await rollBack(this.abortReason);
          }
          if (interrupted) {
            this.decide(model, steps, { kind: 'promote', summary: this.promoteFull ? 'promoted fully by an operator' : 'moved to the next step by an operator' });
            this.promoteNext = false;
            break;
          }
          enter('analyzing');
          const judgement = await analyzeCanary({ model, sinceMs: windowStart, policy: plan.policy });
          const summary = describe(judgement);
          if (judgement.verdict === 'pass') {
            this.decide(model, steps, { kind: 'analysis', verdict: 'pass', summary });
            break;
          }
          if (judgement.verdict === 'fail') {
            this.decide(model, steps, { kind: 'analysis', verdict: 'fail', summary });
            await rollBack(`analysis failed at ${this.weight}% canary traffic: ${summary}`);
          }
          if (extension < plan.maxExtensions) {
            this.decide(model, steps, { kind: 'extend', verdict: 'inconclusive', summary: `${summary}; extending the bake (${extension + 1} of ${plan.maxExtensions})` });
            continue;
          }
          this.decide(model, steps, { kind: 'analysis', verdict: 'inconclusive', summary: `${summary}; still too little data after ${plan.maxExtensions} extensions: waiting for an operator` });
          await waitForOperator(plan.approvalTimeoutSeconds);
          break;
        }
      }
    }

    enter('promoting');
    const promoted = await promoteCanary({ model, bundleDir });
    this.decide(model, steps, { kind: 'promote', summary: `canary is now stable at 100% (${promoted.message})` });
    enter('promoted');
    return { outcome: 'promoted', model, firstVersion: false, decisions: this.decisions };
  }
}
