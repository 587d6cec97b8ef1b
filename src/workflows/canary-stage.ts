import { canaryDecisionText } from '../release/canary-wording.js';
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { CanaryDecision, CanaryPhase, CanaryStatus, ReleaseStageValue, ReleaseVerdict } from '../release/stages.js';
import type { ResolvedCanaryPlan } from '../canary/plan.js';
import type { Judgement } from '../canary/analysis/types.js';
import { describe } from '../canary/analysis/judge.js';
import type { CanaryBundle } from '../activities/canary.js';
import { STAGE_ACTIVITY_OPTIONS } from './activity-options.js';
import { abortUpdate, approveUpdate, promoteUpdate } from '../workflow-definitions.js';
import { activitiesWithSummary, timeline, timer } from './timeline.js';

/** The canary's activities, each call with its own line in the Web UI's timeline. */
const canary = (summary: string) => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.canary, summary);

/** What the canary reports to the search attributes (ReleaseAttributes). */
export interface CanaryAttributes {
  stage(value: ReleaseStageValue): void;
  canaryWeight(weight: number): void;
  verdict(verdict: ReleaseVerdict): void;
}

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
  private lastAnalysis: CanaryStatus['lastAnalysis'];

  constructor(
    private readonly publish: (status: CanaryStatus) => void,
    private readonly attributes: CanaryAttributes,
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
    this.publish({
      model,
      phase: this.phase!,
      step: this.step,
      steps,
      weight: this.weight,
      decisions: [...this.decisions],
      ...(this.lastAnalysis ? { lastAnalysis: this.lastAnalysis } : {}),
    });
  }

  /** The judge's figures go to the status (and the current details); the verdict to the search attributes. */
  private analyzed(judgement: Judgement): void {
    this.lastAnalysis = { at: new Date().toISOString(), weight: this.weight, judgement };
    this.attributes.verdict(judgement.verdict);
  }

  private decide(model: string, steps: number, decision: Omit<CanaryDecision, 'at' | 'step' | 'weight'>): void {
    this.decisions.push({ at: new Date().toISOString(), step: this.step, weight: this.weight, ...decision });
    this.status(model, steps);
  }

  /** `bundle`: what the serving runtime loads, a store reference it pulls by digest. */
  async run(plan: ResolvedCanaryPlan, bundle: CanaryBundle): Promise<CanaryResult> {
    const { model } = plan;
    const steps = plan.steps.length;
    const enter = (phase: CanaryPhase) => {
      this.phase = phase;
      this.status(model, steps);
    };
    enter('deploying');
    const deployed = await canary(timeline.deploy(model, plan.shadow)).deployCanary({ model, ...bundle, shadow: plan.shadow });
    if (deployed.slot === 'stable') {
      this.decide(model, steps, { kind: 'first-version', summary: canaryDecisionText.firstVersion(deployed.message) });
      this.weight = 100;
      enter('promoted');
      return { outcome: 'promoted', model, firstVersion: true, decisions: this.decisions };
    }
    this.attributes.canaryWeight(0);

    const rollBack = async (reason: string): Promise<never> => {
      enter('rolling-back');
      const done = await canary(timeline.rollback(model, reason)).rollbackCanary({ model, ...bundle });
      this.weight = 0;
      enter('rolled-back');
      this.attributes.stage('rolled_back');
      throw ApplicationFailure.create({
        type: 'CanaryRolledBack',
        message: `canary of ${model} rolled back: ${reason} (${done.message})`,
        nonRetryable: true,
        details: [{ reason, decisions: this.decisions }],
      });
    };
    // Waits for a person; true when approved or promoted, false when aborted. Times out into an abort.
    const waitForOperator = async (why: string, timeoutSeconds: number): Promise<void> => {
      enter('paused');
      this.attributes.stage('paused');
      this.approved = false;
      const answered = await condition(
        () => this.approved || this.promoteNext || this.promoteFull || this.abortReason !== undefined,
        timeoutSeconds * 1000,
        timer(timeline.waitForOperator(why, timeoutSeconds)),
      );
      this.attributes.stage('canary');
      if (!answered) {
        this.decide(model, steps, { kind: 'timeout', summary: `no operator answered within ${timeoutSeconds}s: aborting` });
        await rollBack(`approval timed out after ${timeoutSeconds}s`);
      }
      if (this.abortReason !== undefined) {
        this.decide(model, steps, { kind: 'abort', summary: this.abortReason });
        await rollBack(this.abortReason);
      }
      this.decide(model, steps, { kind: this.approved ? 'approve' : 'promote', summary: this.approved ? canaryDecisionText.approved : 'promoted by an operator' });
      this.promoteNext = false;
    };

    for (this.step = 0; this.step < steps && !this.promoteFull; this.step++) {
      const step = plan.steps[this.step]!;
      if ('setWeight' in step) {
        this.weight = (await canary(timeline.setWeight(step.setWeight)).setCanaryWeight({ model, weight: step.setWeight })).weight;
        this.attributes.canaryWeight(this.weight);
        this.status(model, steps);
      } else if ('pause' in step) {
        this.decide(model, steps, { kind: 'pause', summary: 'pause step: waiting for an operator' });
        await waitForOperator(`pause step at ${this.weight}%`, step.pause.timeoutSeconds ?? plan.approvalTimeoutSeconds);
      } else {
        // Bake, analyse; too little traffic extends the bake on the same window, then asks a person.
        const windowStart = Date.now();
        for (let extension = 0; ; extension++) {
          enter('baking');
          const interrupted = await condition(
            () => this.abortReason !== undefined || this.promoteNext || this.promoteFull,
            step.bakeSeconds * 1000,
            timer(timeline.bake(this.weight, step.bakeSeconds, extension, plan.maxExtensions)),
          );
          if (this.abortReason !== undefined) {
            this.decide(model, steps, { kind: 'abort', summary: this.abortReason });
            await rollBack(this.abortReason);
          }
          if (interrupted) {
            this.decide(model, steps, { kind: 'promote', summary: canaryDecisionText.promotedByOperator(this.promoteFull) });
            this.promoteNext = false;
            break;
          }
          enter('analyzing');
          const judgement = await canary(timeline.analyze(this.weight, (Date.now() - windowStart) / 1000)).analyzeCanary({ model, sinceMs: windowStart, policy: plan.policy });
          this.analyzed(judgement);
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
          await waitForOperator(`too little traffic at ${this.weight}%`, plan.approvalTimeoutSeconds);
          break;
        }
      }
    }

    enter('promoting');
    const promoted = await canary(timeline.promote(model)).promoteCanary({ model, ...bundle });
    this.decide(model, steps, { kind: 'promote', summary: canaryDecisionText.promoted(promoted.message) });
    this.weight = 100;
    enter('promoted');
    return { outcome: 'promoted', model, firstVersion: false, decisions: this.decisions };
  }
}
