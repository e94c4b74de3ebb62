// GET /metrics (outside /api/v1): Prometheus text format. Public unless METRICS_TOKEN is set, in
// which case the scraper must present it as a bearer token.
import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import type { LatchConfig } from '../../../config/configuration';
import { Metrics } from './metrics.service';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

@ApiExcludeController()
@Controller()
export class MetricsController {
  private readonly tokenDigest?: Buffer;

  constructor(
    private readonly metrics: Metrics,
    config: ConfigService<LatchConfig, true>,
  ) {
    const token = config.get('app', { infer: true }).metricsToken;
    if (token) this.tokenDigest = digest(token);
  }

  @Public()
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (this.tokenDigest) {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      // Compared as digests: constant time, whatever the presented length.
      if (!match || !timingSafeEqual(digest(match[1]!), this.tokenDigest)) {
        throw new AppError(ErrorCode.Unauthorized, 'A valid metrics bearer token is required.');
      }
    }
    const { contentType, body } = await this.metrics.render();
    void reply.type(contentType);
    return body;
  }
}
