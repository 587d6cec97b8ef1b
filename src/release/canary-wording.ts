/**
 * The canary's decision texts and the timer summaries that mark a pause or an extension. The
 * workflow writes them and the report reads history back by them, so they live in one place.
 * Pure: runs inside workflows too.
 */
export const canaryDecisionText = {
  firstVersion: (deployMessage: string) => `no stable version to compare with: deployed straight to stable (${deployMessage})`,
  promoted: (promoteMessage: string) => `canary is now stable at 100% (${promoteMessage})`,
  approved: 'approved by an operator',
  promotedByOperator: (full: boolean) => (full ? 'promoted fully by an operator' : 'moved to the next step by an operator'),
} as const;

const OPERATOR_WAIT = 'wait for an operator';
const EXTENSION = /\(extension \d+ of \d+\)$/;

export function operatorWaitSummary(why: string, timeout: string): string {
  return `${OPERATOR_WAIT} (${why}; aborts after ${timeout})`;
}

export function isOperatorWait(timerSummary: string): boolean {
  return timerSummary.startsWith(OPERATOR_WAIT);
}

export function extensionSuffix(extension: number, maxExtensions: number): string {
  return extension > 0 ? ` (extension ${extension} of ${maxExtensions})` : '';
}

/** A bake timer that extends an inconclusive step. */
export function isExtension(timerSummary: string): boolean {
  return EXTENSION.test(timerSummary);
}
