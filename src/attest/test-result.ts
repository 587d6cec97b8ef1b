import { IN_TOTO_STATEMENT_V1, type ResourceDescriptor, type Statement } from './statement.js';

export const TEST_RESULT_V01 = 'https://in-toto.io/attestation/test-result/v0.1';

export type TestResultValue = 'PASSED' | 'WARNED' | 'FAILED';

/** in-toto Test Result predicate v0.1: `result` and `configuration` are required. */
export interface TestResultPredicate {
  readonly result: TestResultValue;
  readonly configuration: readonly ResourceDescriptor[];
  readonly url?: string;
  readonly passedTests: readonly string[];
  readonly warnedTests: readonly string[];
  readonly failedTests: readonly string[];
}

export function buildTestResultStatement(subject: ResourceDescriptor, predicate: TestResultPredicate): Statement<TestResultPredicate> {
  return { _type: IN_TOTO_STATEMENT_V1, subject: [subject], predicateType: TEST_RESULT_V01, predicate };
}
