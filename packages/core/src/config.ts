import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ErrorObject } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { parse as parseYaml } from 'yaml';
import { expandReferences } from './config-references.ts';
import { coreErrors, GatehouseError } from './errors.ts';
import { telemetryConfigSchema } from './tracing.ts';

// ajv and ajv-formats are CommonJS with a default export; createRequire keeps their types simple.
const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

export type JsonSchema = Record<string, unknown>;

/** The sections core owns. Other packages add theirs (`idp`, `gateway`, `authz`). */
export const coreConfigSchema = {
  mode: {
    type: 'string',
    enum: ['development', 'production'],
    default: 'development',
    description: 'production refuses development secrets and demo accounts',
  },
  server: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      host: { type: 'string', default: '127.0.0.1', description: 'address the gateway listens on' },
      port: {
        type: 'integer',
        minimum: 0,
        maximum: 65535,
        default: 8080,
        description: "the gateway port (dev), or this verb's port",
      },
      publicUrl: {
        type: 'string',
        format: 'uri',
        pattern: '^https?://',
        default: 'http://localhost:8080',
        description: 'the origin browsers and clients use; the issuer is publicUrl + /auth',
      },
      shutdownTimeoutMs: {
        type: 'integer',
        minimum: 100,
        maximum: 60000,
        default: 4000,
        description: 'on SIGTERM: how long in-flight requests may drain before the process exits anyway',
      },
      drainDelayMs: {
        type: 'integer',
        minimum: 0,
        maximum: 30000,
        default: 0,
        description:
          "on SIGTERM: how long to keep the listener open with readiness failing and every answer closing its connection, before new connections are refused; set it to the load balancer's health-check interval (at most half of shutdownTimeoutMs is used)",
      },
    },
  },
  storage: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      driver: {
        type: 'string',
        enum: ['pglite', 'postgres'],
        default: 'pglite',
        description: 'pglite: embedded PostgreSQL in a data folder (one process); postgres: a server',
      },
      dataDir: { type: 'string', default: '.gatehouse/data', description: 'PGlite data folder' },
      url: {
        type: 'string',
        format: 'uri',
        pattern: '^postgres(ql)?://',
        description:
          'PostgreSQL connection URL (driver postgres). Query keys: max (pool size), idle_timeout, connect_timeout (seconds, default 3), query_timeout (seconds a query or transaction may wait for an answer, connection included, default 10; past it GH_STORAGE_UNAVAILABLE), prepare=false (no prepared statements, e.g. behind a transaction pooler); any other key is a session parameter (search_path=s1)',
      },
    },
  },
  state: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      driver: {
        type: 'string',
        enum: ['memory', 'redis'],
        default: 'memory',
        description: 'memory: this process only; redis: shared by every replica (limits, revocations)',
      },
      url: { type: 'string', format: 'uri', pattern: '^rediss?://', description: 'Redis URL (driver redis)' },
      keyPrefix: {
        type: 'string',
        default: 'gatehouse:',
        description: 'prefix of every Redis key and channel',
      },
    },
  },
  log: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      level: {
        type: 'string',
        enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        default: 'info',
      },
    },
  },
  demo: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: {
        type: 'boolean',
        description: 'seed demo accounts and clients; defaults to true in development, refused in production',
      },
    },
  },
  telemetry: telemetryConfigSchema,
} as const;

/**
 * The core sections after validation (defaults filled in), derived from their schemas: a key with a
 * `default` is always present. `buildConfigSchema` wraps the sections into this object schema.
 */
export type CoreConfig = FromSchema<{
  type: 'object';
  additionalProperties: false;
  properties: typeof coreConfigSchema;
}>;

/**
 * A configuration problem, naming the key (as a dotted path) and what is wrong with it. Its code is
 * the catalog's `GH_CONFIG_INVALID`, like every other error a process can stop with.
 */
export class ConfigError extends GatehouseError {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    const spec = coreErrors.catalog.GH_CONFIG_INVALID;
    super(
      'GH_CONFIG_INVALID',
      spec.status,
      `invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { details: { source, problems } },
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** YAML file path; absent means defaults plus environment. */
  file?: string;
  /** Environment to read `GATEHOUSE_*` overrides from. */
  env?: Record<string, string | undefined>;
  /** Extra top-level sections by name, each a JSON schema of type object. */
  sections?: Record<string, JsonSchema>;
  /** Already-parsed document (tests). */
  document?: unknown;
}

const ENV_PREFIX = 'GATEHOUSE_';
// Variables under the prefix that are not configuration keys.
const ENV_NOT_CONFIG = new Set([
  'GATEHOUSE_CONFIG',
  'GATEHOUSE_LOG_LEVEL',
  'GATEHOUSE_TEST_POSTGRES_URL',
  'GATEHOUSE_TEST_REDIS_URL',
]);

export function buildConfigSchema(sections: Record<string, JsonSchema> = {}): JsonSchema {
  const properties: Record<string, unknown> = { ...coreConfigSchema };
  for (const [name, schema] of Object.entries(sections)) properties[name] = { default: {}, ...schema };
  return { type: 'object', additionalProperties: false, properties };
}

/**
 * Load configuration: the YAML file, then `GATEHOUSE_<SECTION>__<KEY>=value` environment
 * overrides (values parsed as YAML scalars, so `8081` is a number and `true` a boolean), then
 * `${env:NAME}` / `${file:PATH}` references (config-references.ts), then defaults, then validation.
 * Unknown keys, wrong types and bad URLs throw a ConfigError that names each key, and the
 * environment variable when the value came from one. `NODE_ENV=production` forces production mode.
 */
export function loadConfig<T = CoreConfig & Record<string, unknown>>(options: LoadConfigOptions = {}): T {
  const env = options.env ?? process.env;
  const source = options.file ?? 'defaults';
  let doc: unknown = options.document ?? {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError(source, [`cannot read file: ${(err as Error).message}`]);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(source, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, ['the document must be a mapping of keys to values']);
  }
  const merged = structuredClone(doc) as Record<string, unknown>;
  const fromEnv = applyEnvOverrides(merged, env);
  const where = fromEnv.size > 0 ? `${source} and environment` : source;
  const referenceProblems: Array<{ path: string; message: string }> = [];
  expandReferences(
    merged,
    { env, baseDir: options.file ? dirname(options.file) : process.cwd() },
    referenceProblems,
  );
  if (referenceProblems.length > 0) {
    throw new ConfigError(
      where,
      referenceProblems.map((p) => withEnvName(`${p.path}: ${p.message}`, p.path, fromEnv)),
    );
  }
  if (env.NODE_ENV === 'production') merged.mode = 'production';

  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(buildConfigSchema(options.sections));
  if (!validate(merged)) {
    const problems = formatErrors(validate.errors ?? []).map((p) => withEnvName(p.text, p.path, fromEnv));
    throw new ConfigError(where, problems);
  }
  return merged as T;
}

/** Name the variable a bad value came from: the file is not where to look for it. */
function withEnvName(text: string, path: string, fromEnv: Map<string, string>): string {
  for (const [envPath, name] of fromEnv) {
    if (path === envPath || path.startsWith(`${envPath}.`))
      return `${text} (from environment variable ${name})`;
  }
  return text;
}

/** Apply the overrides; returns each overridden key (dotted path) with the variable that set it. */
function applyEnvOverrides(
  target: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Map<string, string> {
  const origins = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || ENV_NOT_CONFIG.has(name)) continue;
    // Only `GATEHOUSE_MODE` is a top-level key; other names without `__` (GATEHOUSE_SSO_APP1_PORT,
    // tools' own variables) are not configuration.
    if (!name.includes('__') && name !== 'GATEHOUSE_MODE') continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    let node = target;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) break;
      node = node[key] as Record<string, unknown>;
    }
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    node[path[path.length - 1]!] = value;
    origins.set(path.join('.'), name);
  }
  return origins;
}

function formatErrors(errors: ErrorObject[]): Array<{ path: string; text: string }> {
  const out = new Map<string, { path: string; text: string }>();
  const add = (path: string, text: string) => out.set(text, { path, text });
  for (const e of errors) {
    const base = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.');
    const key = (extra?: string) => [base, extra].filter(Boolean).join('.') || '(root)';
    const extraKey =
      e.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : e.keyword === 'required'
          ? String(e.params.missingProperty)
          : undefined;
    const at = key(extraKey);
    switch (e.keyword) {
      case 'additionalProperties':
        add(at, `${at}: unknown key`);
        break;
      case 'type':
        add(at, `${key()}: must be ${article(String(e.params.type))}`);
        break;
      case 'format':
        add(at, `${key()}: must be a valid ${e.params.format === 'uri' ? 'URL' : e.params.format}`);
        break;
      case 'pattern':
        add(at, `${key()}: has the wrong form (expected to match ${e.params.pattern})`);
        break;
      case 'enum':
        add(at, `${key()}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`);
        break;
      case 'required':
        add(at, `${at}: is required`);
        break;
      default:
        add(at, `${key()}: ${e.message ?? e.keyword}`);
    }
  }
  return [...out.values()];
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
