import { writeFile } from 'node:fs/promises';
import { BenchOptionError, type BenchSettings, parseBenchArgs } from '../bench/bench-options.ts';
import { ProgressBar } from '../bench/progress-bar.ts';
import { unreachableReason } from '../bench/reachability.ts';
import { latencySvg } from '../bench/report-svg.ts';
import { runBench } from '../bench/run-bench.ts';
import { scenarios } from '../bench/scenarios/index.ts';
import { selfTestScenario, startTrivialServer, type TrivialServer } from '../bench/self-test.ts';
import type { Command } from '../command.ts';

const names = scenarios.map((s) => s.name).join('|');

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Load-test a Gatehouse deployment and compare with the published PartsCoder figures',
  usage: `gatehouse bench --scenario ${names} [--users 1,10,100] [--duration 10s | --iterations N] [--target URL] [--json FILE] [--svg FILE]`,
  help: `Runs virtual users concurrently from this process against a running deployment (npm start, or any
URL), one user count after the other. Each user loops over the scenario's steps; every step is timed
and tagged with its service. A progress bar goes to stderr; the tables (Markdown) go to stdout.

Scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(11)} ${s.summary}`).join('\n')}

  -s, --scenario NAME      ${names} (required unless --self-test)
  -u, --users LIST         virtual user counts, comma-separated (default 1,10,100)
  -d, --duration TIME      how long each user count runs: 500ms, 10s, 2m (default 10s)
  -n, --iterations N       instead of a duration: loops per virtual user
      --ramp TIME          start the users evenly over this time instead of all at once (default 0)
  -t, --target URL         the gateway's origin (default http://localhost:8080)
      --json FILE          also write the results as JSON
      --svg FILE           also write a chart of p50 / p95 / p99 latency against users
      --login USER:PASS    the account that logs in (default alice:alice-password)
      --client ID:SECRET   confidential client for the client credentials grant
                           (default demo-service:demo-service-secret)
      --client-auth HOW    how that client authenticates: basic (default) or post
      --public-client ID   public client for the code + PKCE flow (default demo-app)
      --redirect-uri URL   its redirect URI (default <target>/callback)
      --issuer-path PATH   the issuer's path on the target (default /auth)
      --accounts MODE      shop: 'register' a fresh account per user (default) or 'login' as --login
      --timeout TIME       per request (default 30s); a timeout counts as an error
      --self-test          instead of a target, measure this tool's own ceiling against a trivial
                           local server (GET /, in a child process)

Rate limits apply as the target is configured: a 429 counts as an error like any other non-2xx
answer. Percentiles are exact (every sample kept, nearest rank).`,
  options: {
    scenario: { type: 'string', short: 's' },
    users: { type: 'string', short: 'u' },
    duration: { type: 'string', short: 'd' },
    iterations: { type: 'string', short: 'n' },
    ramp: { type: 'string' },
    target: { type: 'string', short: 't' },
    json: { type: 'string' },
    svg: { type: 'string' },
    login: { type: 'string' },
    client: { type: 'string' },
    'client-auth': { type: 'string' },
    'public-client': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'issuer-path': { type: 'string' },
    accounts: { type: 'string' },
    timeout: { type: 'string' },
    'self-test': { type: 'boolean' },
  },
  async run({ values }) {
    let settings: BenchSettings;
    try {
      settings = parseBenchArgs(values, scenarios);
    } catch (err) {
      if (!(err instanceof BenchOptionError)) throw err;
      console.error(`gatehouse bench: ${err.message}\nUsage: ${benchCommand.usage}`);
      return 2;
    }
    const scenario = settings.scenario ?? selfTestScenario;
    // The self-test's target is a trivial server of its own, started here and stopped at the end.
    const server: TrivialServer | undefined = settings.scenario ? undefined : await startTrivialServer();
    const target = server?.url ?? settings.target;
    // First Ctrl-C: finish the requests in flight and report what was measured; second: quit.
    const stop = new AbortController();
    const onSigint = () => {
      if (stop.signal.aborted) process.exit(130);
      process.stderr.write('\nstopping: finishing the requests in flight (Ctrl-C again to quit at once)\n');
      stop.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      const unreachable = await unreachableReason(target, Math.min(settings.timeoutMs, 10_000));
      if (unreachable !== undefined) {
        console.error(
          `gatehouse bench: nothing answers at ${target} (${unreachable}). Is it running (npm start)?`,
        );
        return 1;
      }
      const outcome = await runBench({
        scenario,
        options: settings.options,
        target,
        users: settings.users,
        stop: settings.stop,
        rampMs: settings.rampMs,
        timeoutMs: settings.timeoutMs,
        compare: server === undefined,
        signal: stop.signal,
        progress: new ProgressBar(process.stderr),
        note: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(outcome.report);
      try {
        if (settings.jsonFile)
          await writeFile(settings.jsonFile, `${JSON.stringify(outcome.json, null, 2)}\n`);
        if (settings.svgFile) await writeFile(settings.svgFile, latencySvg(scenario.name, outcome.summaries));
      } catch (err) {
        console.error(`gatehouse bench: cannot write the results: ${(err as Error).message}`);
        return 1;
      }
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      await server?.stop();
    }
  },
};
