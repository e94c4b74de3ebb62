// Read replicas (DATABASE_READ_URLS) are reported, never fatal: a replica that is down or lagging
// only sends its reads to the primary (src/database/read-replicas.ts), so readiness stays 200 and
// shows `degraded` while any replica is out of rotation. The states come from the periodic check:
// the probe adds no query of its own.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ReadReplicas } from '../../../database/read-replicas';

@Injectable()
export class ReplicasIndicator {
  constructor(
    private readonly replicas: ReadReplicas,
    private readonly health: HealthIndicatorService,
  ) {}

  get configured(): boolean {
    return this.replicas.configured > 0;
  }

  check() {
    const session = this.health.check('replicas');
    const replicas = this.replicas.status();
    const healthy = replicas.filter((replica) => replica.state === 'healthy').length;
    const data = { configured: replicas.length, healthy, replicas };
    return healthy === replicas.length
      ? session.up(data)
      : session.degraded({ ...data, message: 'Some read replicas are out of rotation: their reads go to the primary' });
  }
}
