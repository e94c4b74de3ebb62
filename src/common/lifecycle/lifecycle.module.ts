// The application's own lifecycle: the orderly HTTP stop (the per-request hooks are installed by
// createApp through installRequestScope, before any route exists).
import { Module } from '@nestjs/common';
import { HttpShutdown } from './http-shutdown.service';

@Module({
  providers: [HttpShutdown],
})
export class LifecycleModule {}
