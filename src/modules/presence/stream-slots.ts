// How many presence streams may be open on this instance: each one holds a connection and a
// subscription for as long as its admin keeps it, so both one user and the instance are capped.
// Counted per instance (a stream lives on the instance that serves it, and so does its cost).
import { AppError, ErrorCode } from '../../common/errors/app-error';

/** Open streams one user may hold on one instance (a few dashboards or tabs). */
export const MAX_STREAMS_PER_USER = 5;
/** Open streams one instance serves in all. */
export const MAX_STREAMS_PER_INSTANCE = 1000;
/** Seconds a refused client is told to wait (Retry-After) before it tries again. */
export const STREAM_RETRY_AFTER_SECONDS = 5;

export class StreamSlots {
  private readonly byUser = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly perUser = MAX_STREAMS_PER_USER,
    private readonly perInstance = MAX_STREAMS_PER_INSTANCE,
  ) {}

  /** Takes a slot for `userId`, or throws (429 for the user's cap, 503 for the instance's). Returns its release. */
  take(userId: string): () => void {
    const held = this.byUser.get(userId) ?? 0;
    if (held >= this.perUser) {
      throw new AppError(ErrorCode.RateLimited, `At most ${this.perUser} presence streams may be open per user.`, {
        retryAfter: STREAM_RETRY_AFTER_SECONDS,
      });
    }
    if (this.total >= this.perInstance) {
      throw new AppError(ErrorCode.ServiceUnavailable, 'This instance serves as many presence streams as it can.', {
        retryAfter: STREAM_RETRY_AFTER_SECONDS,
      });
    }
    this.byUser.set(userId, held + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byUser.get(userId) ?? 1) - 1;
      if (left > 0) this.byUser.set(userId, left);
      else this.byUser.delete(userId);
    };
  }

  get open(): number {
    return this.total;
  }
}
