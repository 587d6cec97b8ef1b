import { ApplicationFailure } from '@temporalio/activity';
import { ModelshipError } from '../errors/index.js';

/** Maps our typed errors onto Temporal failures: the type is kept, bad input is non-retryable. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ModelshipError) {
    return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable, cause: err });
  }
  return err;
}

export function withFailureMapping<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toActivityFailure(err);
    }
  };
}
