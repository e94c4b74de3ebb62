// Stamps an API key's lastUsedAt after the response (best effort, tracked so shutdown finishes it);
// the authenticator announces a key's use at most once a minute per instance, and the UPDATE itself
// skips a key stamped within the last minute, so busy keys cost no write per request.
import { Injectable } from '@nestjs/common';
import { ApiKeyUsedEvent } from '../../../common/events/domain-events';
import { AfterResponse } from '../../../common/events/listener.decorators';
import { ApiKeysService } from '../api-keys.service';

@Injectable()
export class ApiKeyUsageListener {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @AfterResponse(ApiKeyUsedEvent)
  async stamp(event: ApiKeyUsedEvent): Promise<void> {
    await this.apiKeys.touch(event.apiKeyId);
  }
}
