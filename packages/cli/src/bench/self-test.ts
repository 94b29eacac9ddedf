import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Scenario } from './scenario.ts';

/**
 * A server that answers `ok` at once, in its own process (so on the other core), for measuring
 * the load generator's own ceiling: what it can send when the target costs next to nothing.
 */
const trivialServer = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.keepAliveTimeout = 60000;
server.maxConnections = 20000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface TrivialServer {
  url: string;
  stop(): Promise<void>;
}

export async function startTrivialServer(): Promise<TrivialServer> {
  // Its own process group, so a Ctrl-C at the terminal (which stops the bench gently) does not
  // kill it under the requests still in flight.
  const child = spawn(process.execPath, ['-e', trivialServer], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`trivial server exited with ${code}`)));
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      // Closing stdin ends it; the parent dying closes stdin too, so it never outlives the bench.
      child.stdin.end();
      await exited;
    },
  };
}

export const selfTestScenario: Scenario = {
  name: 'self-test',
  summary: "GET / against a trivial local server: the load generator's own ceiling",
  async prepare() {
    return {
      notes: [
        'target: a trivial node:http server in a child process answering ok; figures are the load generator ceiling',
      ],
      createUser: ({ http }) => ({
        setup: [],
        steps: [
          {
            service: 'trivial',
            name: 'GET /',
            run: async () => {
              await http.request('GET', '/');
            },
          },
        ],
      }),
    };
  },
};
