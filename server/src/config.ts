import { AuthKeys } from './auth';

// Settings come from the environment (the role writes them to shared/flowspace-socket.env).
// Each one is checked at start-up: a wrong value stops the process with the variable named.

export interface Config {
  host: string;
  port: number;
  metricsPort: number;
  allowedOrigins: string[];
  redisUrl: string | undefined;
  moveIntervalMs: number;
  chatMaxLength: number;
  eventsPerSecond: number;
  eventBurst: number;
  shutdownTimeoutMs: number;
  joinTimeoutMs: number;
  // undefined: no token needed (ALLOW_ANONYMOUS=true, development only)
  auth: AuthKeys | undefined;
}

// The largest message a client may send, derived from the settings: a chat message of
// CHAT_MAX_LENGTH characters, each at worst a 6-byte JSON escape, plus the event's framing.
export function maxMessageBytes(config: Pick<Config, 'chatMaxLength'>): number {
  return config.chatMaxLength * 6 + 1024;
}

type Env = Record<string, string | undefined>;

// A setting the process cannot run with: it stops with exit 2 and the variable named.
export class SettingError extends Error {}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const MIN_SECRET = 32;

function authKeys(env: Env): AuthKeys | undefined {
  const anonymous = env.ALLOW_ANONYMOUS ?? '';
  if (!['', 'true', 'false'].includes(anonymous)) {
    throw new SettingError(`ALLOW_ANONYMOUS must be true or false, got ${JSON.stringify(anonymous)}`);
  }
  const current = env.AUTH_SECRET ?? '';
  if (anonymous === 'true' && !current) return undefined;
  if (current.length < MIN_SECRET) {
    throw new SettingError(`AUTH_SECRET must be at least ${MIN_SECRET} characters (the key the app signs `
      + 'join tokens with); ALLOW_ANONYMOUS=true runs without one, for development only');
  }
  const previous = env.AUTH_PREVIOUS_SECRET || undefined;
  if (previous !== undefined && previous.length < MIN_SECRET) {
    throw new SettingError(`AUTH_PREVIOUS_SECRET must be at least ${MIN_SECRET} characters`);
  }
  const previousUntil = previous === undefined ? undefined
    : integer(env, 'AUTH_PREVIOUS_UNTIL', 0, 0, 2 ** 40);
  return { current, previous, previousUntil };
}

export function loadConfig(env: Env = process.env): Config {
  const origins = (env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new SettingError(`ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port])`);
    }
  }
  if (origins.length === 0) throw new SettingError('ALLOWED_ORIGINS must list the app origin(s), comma-separated');
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 3001, 0, 65535),
    metricsPort: integer(env, 'METRICS_PORT', 9464, 0, 65535),
    allowedOrigins: origins,
    redisUrl: env.REDIS_URL || undefined,
    moveIntervalMs: integer(env, 'MOVE_INTERVAL_MS', 50, 10, 10000),
    chatMaxLength: integer(env, 'CHAT_MAX_LENGTH', 500, 1, 10000),
    eventsPerSecond: integer(env, 'EVENTS_PER_SECOND', 30, 1, 10000),
    eventBurst: integer(env, 'EVENT_BURST', 60, 1, 100000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10000, 0, 600000),
    joinTimeoutMs: integer(env, 'JOIN_TIMEOUT_MS', 1000, 100, 30000),
    auth: authKeys(env),
  };
}
