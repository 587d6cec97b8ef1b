/**
 * The one base class of modelship's errors, as `jose` does it: every concrete error class has a
 * static `code` (its stable name: the ApplicationFailure type in Temporal history, which the UI,
 * retry policies and SREs match on) and a static `retryable` (could a later attempt succeed? Bad
 * input never gets better by retrying). Each instance carries both, read off its own class.
 *
 * No Node imports and no side effects here or anywhere in src/errors/: the workflow bundle
 * imports this folder (for the retry policies' non-retryable types).
 */
export abstract class ModelshipError extends Error {
  /** Stable name of the error, the failure type in Temporal history. Set by every concrete class. */
  static readonly code: string;
  /** Whether a later attempt could succeed. Set by every concrete class (or its family). */
  static readonly retryable: boolean;

  /** This error's class's `code`. */
  readonly code: string;
  /** The ApplicationFailure type in Temporal history: the same as `code`. */
  readonly type: string;
  /** This error's class's `retryable`. */
  readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    const cls = new.target as unknown as { readonly code: string; readonly retryable: boolean };
    this.code = cls.code;
    this.type = cls.code;
    this.retryable = cls.retryable;
  }
}

/** A concrete error class: what the retry policies and the tests enumerate. */
export type ErrorClass = (abstract new (...args: never[]) => ModelshipError) & { readonly code: string; readonly retryable: boolean };

/** Input the release was given is wrong; retrying cannot help. */
export abstract class BadInputError extends ModelshipError {
  static override readonly retryable = false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
