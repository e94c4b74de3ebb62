// Hears the authentication domain events. Within a request it notes the outcome (and who the
// caller turned out to be) on the request context; the request observer counts it once when the
// response is sent, so answers no event speaks for (rate limits, bad input) are counted too.
// Outside a request the outcome is counted at once.
// Ordinary listeners run after the response (AfterResponseService), too late for the request's
// count and log line, so these register as before-response handlers: synchronous and trivial,
// they hold no response back.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AfterResponseService } from '../../../common/events/after-response.service';
import {
  DomainEvent,
  LoginFailedEvent,
  LoginSucceededEvent,
  RefreshReuseDetectedEvent,
  TokenRefreshedEvent,
  UserRegisteredEvent,
} from '../../../common/events/domain-events';
import { currentRequestContext } from '../request-context';
import { AuthFlow, Metrics } from './metrics.service';

@Injectable()
export class AuthOutcomesListener implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly afterResponse: AfterResponseService,
  ) {}

  onModuleInit(): void {
    const on = <E>(event: string, handler: (event: E) => void): void =>
      this.afterResponse.onEventBeforeResponse([event], `metrics: ${event}`, (payload) => handler(payload as E));
    on(DomainEvent.LoginSucceeded, (event: LoginSucceededEvent) =>
      this.note('login', 'success', event.userId, event.sessionId),
    );
    on(DomainEvent.LoginFailed, (event: LoginFailedEvent) =>
      this.note('login', event.reason, event.userId ?? undefined),
    );
    on(DomainEvent.TokenRefreshed, (event: TokenRefreshedEvent) =>
      this.note('refresh', 'success', event.userId, event.sessionId),
    );
    on(DomainEvent.RefreshReuseDetected, (event: RefreshReuseDetectedEvent) => {
      this.metrics.refreshReuse.inc();
      this.note('refresh', 'reuse_detected', event.userId, event.sessionId);
    });
    on(DomainEvent.UserRegistered, (event: UserRegisteredEvent) => this.note('register', 'success', event.userId));
  }

  private note(flow: AuthFlow, result: string, userId?: string, sessionId?: string): void {
    const context = currentRequestContext();
    if (!context) return this.metrics.recordAuthOutcome(flow, result);
    context.outcome = result;
    if (userId) context.userId = userId;
    if (sessionId) context.sessionId = sessionId;
  }
}
