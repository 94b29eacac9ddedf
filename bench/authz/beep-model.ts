/**
 * The Beep model (`examples/beep/model/beep.fga`, a Discord-like chat platform) and a deterministic
 * data set of a given size: servers with an owner, members, roles (one of them Administrator)
 * assigned to members, server-wide grants to @everyone and to roles, categories and channels with
 * @everyone, role and member overrides. The same seed always gives the same store.
 */
import { readFileSync } from 'node:fs';
import { random, type Tuple } from './drive-model.ts';

export const beepModel = readFileSync(new URL('../../examples/beep/model/beep.fga', import.meta.url), 'utf8');

export interface BeepData {
  tuples: Tuple[];
  users: number;
  servers: number;
  channels: number;
  /** `count` check keys, `can_view` or `can_send` on a channel: half by a member of its server, half by a user at random. */
  queries(count: number): Tuple[];
}

const membersPerServer = 40;
const rolesPerServer = 4;
const categoriesPerServer = 3;
const channelsPerServer = 10;

export function beepData(size: number): BeepData {
  const rnd = random(42);
  const pick = (n: number) => Math.floor(rnd() * n);
  const users = Math.max(50, Math.round(size / 10));
  const tuples: Tuple[] = [];
  const seen = new Set<string>();
  const add = (t: Tuple) => {
    const k = `${t.object}#${t.relation}@${t.user}`;
    if (seen.has(k)) return;
    seen.add(k);
    tuples.push(t);
  };
  const channelsOf: { channel: string; members: string[] }[] = [];
  let servers = 0;
  while (tuples.length < size) {
    const s = `s${servers++}`;
    const server = `server:${s}`;
    const everyone = `${server}#member`;
    const members = Array.from({ length: membersPerServer }, () => `user:u${pick(users)}`);
    add({ object: server, relation: 'owner', user: members[0]! });
    for (const m of members) add({ object: server, relation: 'member', user: m });
    add({ object: server, relation: 'view_channel', user: everyone });
    if (rnd() < 0.8) add({ object: server, relation: 'send_messages', user: everyone });
    const roles = Array.from({ length: rolesPerServer }, (_, r) => `role:${s}-r${r}`);
    for (const [r, role] of roles.entries()) {
      add({ object: role, relation: 'server', user: server });
      for (let i = 0; i < membersPerServer / 8; i++)
        add({ object: role, relation: 'assignee', user: members[pick(membersPerServer)]! });
      // r0 is the Administrator role; the others grant sending.
      if (r === 0) add({ object: server, relation: 'administrator', user: `${role}#assignee` });
      else add({ object: server, relation: 'send_messages', user: `${role}#assignee` });
    }
    const role = () => `${roles[1 + pick(rolesPerServer - 1)]!}#assignee`;
    const member = () => members[pick(membersPerServer)]!;
    const categories = Array.from({ length: categoriesPerServer }, (_, c) => `category:${s}-c${c}`);
    for (const category of categories) {
      add({ object: category, relation: 'server', user: server });
      // A private category: hidden from @everyone, shown to a role.
      if (rnd() < 0.3) {
        add({ object: category, relation: 'view_deny_everyone', user: everyone });
        add({ object: category, relation: 'view_allow_role', user: role() });
      }
    }
    for (let c = 0; c < channelsPerServer; c++) {
      const channel = `channel:${s}-ch${c}`;
      add({ object: channel, relation: 'server', user: server });
      add({
        object: channel,
        relation: 'parent',
        user: rnd() < 0.8 ? categories[pick(categoriesPerServer)]! : server,
      });
      const r = rnd();
      if (r < 0.2) add({ object: channel, relation: 'send_deny_everyone', user: everyone });
      else if (r < 0.35) add({ object: channel, relation: 'send_deny_role', user: role() });
      else if (r < 0.45) add({ object: channel, relation: 'view_deny_member', user: member() });
      else if (r < 0.55) add({ object: channel, relation: 'send_allow_role', user: role() });
      channelsOf.push({ channel, members });
    }
  }
  return {
    tuples,
    users,
    servers,
    channels: channelsOf.length,
    queries(count) {
      const q = random(7);
      return Array.from({ length: count }, (_, i) => {
        const { channel, members } = channelsOf[Math.floor(q() * channelsOf.length)]!;
        const user =
          i % 2 === 0 ? members[Math.floor(q() * members.length)]! : `user:u${Math.floor(q() * users)}`;
        return { object: channel, relation: q() < 0.5 ? 'can_view' : 'can_send', user };
      });
    },
  };
}
