// PostgreSQL down: the idp answers a fast 503 with Retry-After, not a 500 server_error, and
// recovers by itself once the database answers again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openSql, type Sql } from '@gatehouse/core';
import {
  type CuttableRelay,
  openTestSql,
  skipUnlessService,
  startCuttableRelay,
  type TestSql,
} from '@gatehouse/core/testing';
import { idpMigrations } from '../src/index.ts';
import { startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';

describe('identity provider with PostgreSQL down [postgres]', {
  skip: await skipUnlessService('postgres'),
}, () => {
  let db: TestSql;
  let relay: CuttableRelay;
  let sql: Sql;
  let t: TestIdp;
  before(async () => {
    db = await openTestSql('postgres', { migrations: [idpMigrations] });
    relay = await startCuttableRelay(db.url!);
    // A restarting server accepts connections and drops them: query_timeout bounds the wait.
    const url = new URL(relay.url);
    url.searchParams.set('query_timeout', '1');
    sql = await openSql({ driver: 'postgres', url: url.toString() });
    t = await startIdp({ sql });
  });
  after(async () => {
    relay?.restore();
    await t?.stop();
    await sql?.close();
    await relay?.close();
    await db?.cleanup();
  });

  const refresh = () =>
    fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': form },
      body: 'grant_type=refresh_token&client_id=demo-app&refresh_token=an-unknown-refresh-token-of-sufficient-length',
    });

  test('with the database up, an unknown refresh token is invalid_grant', async () => {
    const res = await refresh();
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
  });

  test('with the database down, token requests are fast 503 temporarily_unavailable with Retry-After', async () => {
    relay.cut();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await refresh();
      const ms = Date.now() - started;
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), {
        error: 'temporarily_unavailable',
        error_description: 'storage does not answer; try again',
      });
      assert.ok(ms < 2500, `took ${ms} ms; query_timeout is 1 s`);
    }
    const ready = await fetch(`${t.origin}/health/ready`);
    assert.equal(ready.status, 503);
  });

  test('once the database answers again, the same request is answered without a restart', async () => {
    relay.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 400; i++) {
      const res = await refresh();
      await res.arrayBuffer();
      status = res.status;
      if (status !== 400) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 400);
  });
});
