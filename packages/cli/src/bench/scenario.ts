import type { VuHttp } from './http-client.ts';
import type { StepRole } from './recorder.ts';

/** One timed unit of work, tagged with the service it exercises and its name in the tables. */
export interface Step {
  service: string;
  name: string;
  /** Marks the steps behind the published "login time" and "token generation time" figures. */
  role?: StepRole;
  /** Throws on failure (an unexpected status, a connection error, a missing value). */
  run(): Promise<void>;
}

/** What one virtual user does: `setup` once (again after it fails), then `steps` in a loop. */
export interface UserFlow {
  setup: Step[];
  steps: Step[];
  /** False when the user must run `setup` again (e.g. its refresh token was lost). */
  ready?(): boolean;
}

export interface UserContext {
  /** 0-based index of the user within its user count. */
  index: number;
  users: number;
  /** Unique per bench run, to make per-user names (registrations) unique across runs. */
  runId: string;
  http: VuHttp;
}

/** A scenario made ready for one target: notes for the reader and a factory of user flows. */
export interface ScenarioPlan {
  notes: string[];
  createUser(ctx: UserContext): UserFlow;
}

export interface ScenarioOptions {
  /** A user's credentials for scenarios that log in as an existing account. */
  login: { username: string; password: string };
  /** A confidential client for the client-credentials grant, and how it authenticates. */
  client: { id: string; secret: string; auth: 'basic' | 'post' };
  /** A public client for the code + PKCE flow, and its redirect URI. */
  publicClient: { id: string; redirectUri: string };
  /** Whether scenarios that can register a fresh account per user do so, or log in as `login`. */
  accounts: 'register' | 'login';
  /** The issuer's path on the target. */
  issuerPath: string;
}

export interface Scenario {
  name: string;
  summary: string;
  /** Runs once before the first user count, untimed: discovers endpoints and checks what works. */
  prepare(http: VuHttp, options: ScenarioOptions): Promise<ScenarioPlan>;
}
