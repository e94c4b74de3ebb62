// Hears the authentication domain events. Within a request it notes the outcome (and who the
// caller turned out to be) on the request context; the request observer counts it once when the
// response is sent, so answers no event speaks for (rate limits, bad input) are counted too.
// Outside a request the outcome is counted at once.
// These run before the response (@BeforeResponse): after it would be too late for the request's
// count and log line. Synchronous and trivial, they hold no response back.
import { Injectable } from '@nestjs/common';
import {
  LoginFailedEvent,
  LoginSucceededEvent,
  RefreshReuseDetectedEvent,
  TokenRefreshedEvent,
  UserRegisteredEvent,
} from '../../../common/events/domain-events';
import { BeforeResponse } from '../../../common/events/listener.decorators';
import { currentRequestContext } from '../../../common/request-context';
import { AuthFlow, Metrics } from './metrics.service';

@Injectable()
export class AuthOutcomesListener {
  constructor(private readonly metrics: Metrics) {}

  @BeforeResponse(LoginSucceededEvent)
  loginSucceeded(event: LoginSucceededEvent): void {
    this.note('login', 'success', event.userId, event.sessionId);
  }

  @BeforeResponse(LoginFailedEvent)
  loginFailed(event: LoginFailedEvent): void {
    this.note('login', event.reason, event.userId ?? undefined);
  }

  @BeforeResponse(TokenRefreshedEvent)
  refreshed(event: TokenRefreshedEvent): void {
    this.note('refresh', 'success', event.userId, event.sessionId);
  }

  @BeforeResponse(RefreshReuseDetectedEvent)
  reuseDetected(event: RefreshReuseDetectedEvent): void {
    this.metrics.refreshReuse.inc();
    this.note('refresh', 'reuse_detected', event.userId, event.sessionId);
  }

  @BeforeResponse(UserRegisteredEvent)
  registered(event: UserRegisteredEvent): void {
    this.note('register', 'success', event.userId);
  }

  private note(flow: AuthFlow, result: string, userId?: string, sessionId?: string): void {
    const context = currentRequestContext();
    if (!context) return this.metrics.recordAuthOutcome(flow, result);
    context.outcome = result;
    if (userId) context.userId = userId;
    if (sessionId) context.sessionId = sessionId;
  }
}
