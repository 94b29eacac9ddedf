import type { StopRule } from './engine.ts';
import type { Scenario, ScenarioOptions } from './scenario.ts';

/** A command-line value that does not parse; the message names the option. */
export class BenchOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchOptionError';
  }
}

export const maxUsers = 10_000;

/** `1,10,100` → [1, 10, 100]: positive integers, each once, in the order given. */
export function parseUsers(text: string): number[] {
  const users: number[] = [];
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > maxUsers) {
      throw new BenchOptionError(`--users: '${part}' is not a whole number from 1 to ${maxUsers}`);
    }
    if (!users.includes(Number(t))) users.push(Number(t));
  }
  return users;
}

/** `10s`, `500ms`, `2m`, or plain seconds → milliseconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new BenchOptionError(`--${option}: '${text}' is not a duration such as 500ms, 10s or 2m`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms > 24 * 3600_000) throw new BenchOptionError(`--${option}: at most 24 hours`);
  return ms;
}

export function parseStopRule(duration: string | undefined, iterations: string | undefined): StopRule {
  if (duration !== undefined && iterations !== undefined) {
    throw new BenchOptionError('--duration and --iterations exclude each other');
  }
  if (iterations !== undefined) {
    if (!/^\d+$/.test(iterations.trim()) || Number(iterations) < 1) {
      throw new BenchOptionError(`--iterations: '${iterations}' is not a whole number of at least 1`);
    }
    return { iterations: Number(iterations) };
  }
  const durationMs = parseDuration(duration ?? '10s', 'duration');
  if (durationMs <= 0) throw new BenchOptionError('--duration: must be more than 0');
  return { durationMs };
}

export function parseTarget(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BenchOptionError(`--target: '${text}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BenchOptionError('--target: must be http or https');
  return url.origin;
}

/** `name:secret` → both halves; the secret may contain colons. */
export function parsePair(text: string, option: string): [string, string] {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new BenchOptionError(`--${option}: expected NAME:SECRET`);
  return [text.slice(0, i), text.slice(i + 1)];
}

export function describeStopRule(stop: StopRule, rampMs: number): string {
  const base =
    'durationMs' in stop
      ? `Each user count ran for ${stop.durationMs / 1000} s`
      : `Each virtual user ran the scenario ${stop.iterations} time(s)`;
  return rampMs > 0 ? `${base}, users starting over ${rampMs / 1000} s` : base;
}

export interface BenchSettings {
  /** undefined with --self-test. */
  scenario: Scenario | undefined;
  users: number[];
  stop: StopRule;
  rampMs: number;
  timeoutMs: number;
  target: string;
  options: ScenarioOptions;
  jsonFile?: string;
  svgFile?: string;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new BenchOptionError(`--${option}: '${value}' is not ${allowed.map((a) => `'${a}'`).join(' or ')}`);
  }
  return value as T;
}

/** The `gatehouse bench` options, checked, with their defaults. */
export function parseBenchArgs(values: Record<string, unknown>, scenarios: Scenario[]): BenchSettings {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const names = scenarios.map((s) => s.name).join('|');
  const name = str('scenario');
  let scenario: Scenario | undefined;
  if (values['self-test'] !== true) {
    scenario = scenarios.find((s) => s.name === name);
    if (!scenario) {
      throw new BenchOptionError(
        name === undefined
          ? `--scenario is required (${names})`
          : `--scenario: unknown scenario '${name}' (${names})`,
      );
    }
  }
  const target = parseTarget(str('target') ?? 'http://localhost:8080');
  const [username, password] = parsePair(str('login') ?? 'alice:alice-password', 'login');
  const [clientId, clientSecret] = parsePair(str('client') ?? 'demo-service:demo-service-secret', 'client');
  const timeoutMs = parseDuration(str('timeout') ?? '30s', 'timeout');
  if (timeoutMs <= 0) throw new BenchOptionError('--timeout: must be more than 0');
  return {
    scenario,
    users: parseUsers(str('users') ?? '1,10,100'),
    stop: parseStopRule(str('duration'), str('iterations')),
    rampMs: parseDuration(str('ramp') ?? '0', 'ramp'),
    timeoutMs,
    target,
    options: {
      login: { username, password },
      client: {
        id: clientId,
        secret: clientSecret,
        auth: oneOf(str('client-auth') ?? 'basic', ['basic', 'post'], 'client-auth'),
      },
      publicClient: {
        id: str('public-client') ?? 'demo-app',
        redirectUri: str('redirect-uri') ?? `${target}/callback`,
      },
      issuerPath: str('issuer-path') ?? '/auth',
      accounts: oneOf(str('accounts') ?? 'register', ['register', 'login'], 'accounts'),
    },
    ...(str('json') === undefined ? {} : { jsonFile: str('json') }),
    ...(str('svg') === undefined ? {} : { svgFile: str('svg') }),
  };
}
