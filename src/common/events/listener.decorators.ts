// The two ways a provider method hears a domain event. The decorator on the line above the method
// says when it runs; DomainEvents (domain-events.service.ts) finds the decorated methods at start.
//
//   @BeforeResponse(...events)  durable: starts the moment the event is published, inside the
//                               publishing request, whose response waits for it (at most 3 s).
//                               For what must never be lost once a client has seen the outcome
//                               (audit records, queued mail) and for request-scoped bookkeeping.
//   @AfterResponse(...events)   best effort: runs once the publishing request step has yielded, after
//                               the response, tracked so that shutdown finishes it; lost only to a crash.
//
// Either way each listener is isolated: a throw or rejection is logged with the event's name and
// ids and touches neither the response nor the other listeners.
import 'reflect-metadata';
import type { DomainEventName } from './domain-events';

export type ListenerTiming = 'before-response' | 'after-response';

/** A domain event class, or its name (`DomainEvent.X`). */
export type EventSelector<E = unknown> = DomainEventName | (abstract new (...args: never[]) => E);

export interface ListenerSpec {
  readonly timing: ListenerTiming;
  readonly events: readonly EventSelector[];
}

/** Reflect metadata on the method: the ListenerSpec[] its decorators declared. */
export const EVENT_LISTENERS = 'latch:event-listeners';

/**
 * Given event classes, the method must accept each of them; given names only, it is not checked.
 * (Several classes with no common type: name the events, or give the type argument.)
 */
type ListenerDecorator<E> = <M extends (event: E) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

function listener<E>(timing: ListenerTiming, events: readonly EventSelector<E>[]): ListenerDecorator<E> {
  if (events.length === 0) throw new Error(`@${timing} listener without an event`);
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const specs = (Reflect.getMetadata(EVENT_LISTENERS, method) as ListenerSpec[] | undefined) ?? [];
    Reflect.defineMetadata(EVENT_LISTENERS, [...specs, { timing, events }], method);
  };
}

/** Durable: runs as the event is published and the publishing request's response waits for it (≤ 3 s). */
export function BeforeResponse<E = never>(...events: EventSelector<E>[]): ListenerDecorator<E> {
  return listener('before-response', events);
}

/** Best effort: runs after the publishing request's response, tracked so that shutdown drains it. */
export function AfterResponse<E = never>(...events: EventSelector<E>[]): ListenerDecorator<E> {
  return listener('after-response', events);
}
