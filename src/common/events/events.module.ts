// Global: every module's events go through the one AfterResponseService (see its header).
import { Global, Module } from '@nestjs/common';
import { AfterResponseService } from './after-response.service';

@Global()
@Module({
  providers: [AfterResponseService],
  exports: [AfterResponseService],
})
export class EventsModule {}
