// Failures the client reports: an answer from Latch (with its problem details), or no answer at all.

/** Latch answered with an error (RFC 9457 problem details; `code` is Latch's stable error code). */
export class LatchError extends Error {
  override readonly name = 'LatchError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly problem?: unknown,
  ) {
    super(message);
  }
}

/** The refresh could not reach Latch, timed out or Latch was unavailable: the session is kept. */
export class RefreshUnavailableError extends Error {
  override readonly name = 'RefreshUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The error for an answer whose body (problem details, if any) has already been parsed. */
export function problemError(response: Response, body: unknown, what: string): LatchError {
  const problem = typeof body === 'object' && body !== null ? (body as { code?: string; detail?: string }) : {};
  const detail = problem.detail ?? response.statusText;
  return new LatchError(response.status, problem.code, `${what} failed: ${response.status} ${detail}`, body);
}
