// @latch-auth/client: a typed client for Latch that refreshes once for any number of concurrent requests and tabs.
export { createLatchClient } from './client.js';
export type {
  ApiKey,
  CreateApiKeyBody,
  CreatedApiKey,
  LatchClient,
  LatchClientOptions,
  LoginResult,
  RegisterBody,
  Session,
  SessionChange,
  SessionChangeReason,
  User,
} from './client.js';
export { LatchError, RefreshUnavailableError } from './errors.js';
export { memoryStorage } from './storage.js';
export type { StorageAdapter, StorageOption } from './storage.js';
export type { components, operations, paths } from './schema.js';
