// Baseline: the framework's floor. A minimal NestJS app on @nestjs/platform-fastify (the adapter
// Latch runs on) with one controller answering the same JSON as bare-fastify.ts: no guards, pipes,
// interceptors, hooks or database. Its ratio to bare Fastify is what NestJS itself costs; the
// ratio of /users/me to it is what Latch's own request path costs.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { USER } from './user-json';

@Controller()
class MeController {
  @Get('me')
  me(): typeof USER {
    return USER;
  }
}

@Module({ controllers: [MeController] })
class MinimalModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(MinimalModule, new FastifyAdapter(), { logger: false });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
