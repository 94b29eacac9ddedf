import type { Sql } from '@gatehouse/core';

/** The beep service's data, in its own schema `beep`: messages only (permissions are in the store). */
export const beepMigrations = {
  component: 'beep',
  dir: new URL('../migrations/', import.meta.url),
};

export interface Message {
  id: number;
  channel: string;
  author: string;
  text: string;
  createdAt: string;
}

interface Row {
  id: number;
  channel_id: string;
  author: string;
  body: string;
  created_at: Date;
}

const view = (r: Row): Message => ({
  id: Number(r.id),
  channel: r.channel_id,
  author: r.author,
  text: r.body,
  createdAt: r.created_at.toISOString(),
});

export function createMessageStore(sql: Sql) {
  return {
    async add(channel: string, author: string, text: string): Promise<Message> {
      const rows = await sql.query<Row>(
        'insert into beep.messages (channel_id, author, body) values ($1, $2, $3) returning *',
        [channel, author, text],
      );
      return view(rows[0]!);
    },
    /** A channel's newest 50 messages, oldest first. */
    async list(channel: string): Promise<Message[]> {
      const rows = await sql.query<Row>(
        'select * from beep.messages where channel_id = $1 order by id desc limit 50',
        [channel],
      );
      return rows.reverse().map(view);
    },
  };
}

export type MessageStore = ReturnType<typeof createMessageStore>;
