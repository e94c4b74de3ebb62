// The typed configuration namespaces, registered with @nestjs/config. Services read them through
// ConfigService<LatchConfig, true>: config.get('auth', { infer: true }). The variables behind them
// are declared once, in variables.ts.
import { ConfigModule, registerAs } from '@nestjs/config';
import type { DynamicModule } from '@nestjs/common';
import type { LatchConfig } from './variables';

export {
  declaredVariables,
  loadConfig,
  type AppConfig,
  type AuthConfig,
  type CryptoConfig,
  type DatabaseConfig,
  type LatchConfig,
  type MailConfig,
  type RedisConfig,
  type ThrottleConfig,
} from './variables';

/** Registers each namespace with @nestjs/config for one application instance. */
export function configModule(config: LatchConfig): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    load: (Object.keys(config) as (keyof LatchConfig)[]).map((key) => registerAs(key, () => config[key])),
  });
}
