// A workflow interceptor module: it runs inside the workflow sandbox, so it does no I/O and
// only reads the workflow clock; its one effect is a sink call, which produces no command and
// therefore leaves every recorded history replayable.
import type { Next } from '@temporalio/common';
import { proxySinks, workflowInfo, type WorkflowExecuteInput, type WorkflowInboundCallsInterceptor, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { outcomeOfError, outcomeOfResult, type ReleaseOutcomeLabel } from './release-outcome.js';
import type { ReleaseMetricsSinks } from './sinks.js';

const { releaseMetrics } = proxySinks<ReleaseMetricsSinks>();

function report(outcome: ReleaseOutcomeLabel): void {
  releaseMetrics.releaseFinished(outcome, (Date.now() - workflowInfo().runStartTime.getTime()) / 1000);
}

/** Counts each release once, when its workflow returns or fails. */
class ReleaseOutcomeInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    let result: unknown;
    try {
      result = await next(input);
    } catch (err) {
      const outcome = outcomeOfError(err);
      if (outcome) report(outcome);
      throw err;
    }
    report(outcomeOfResult(result));
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new ReleaseOutcomeInterceptor()] });
