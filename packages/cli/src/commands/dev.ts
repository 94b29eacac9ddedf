import { type Command, configHelp, configOptions } from '../command.ts';
import { configFileOf, loadGatehouseConfig } from '../load-config.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { demoEnabled } from '../production-guard.ts';

export const devCommand: Command = {
  name: 'dev',
  summary: 'Start the identity provider, the gateway and a demo service on one origin (npm start)',
  usage: 'gatehouse dev [--config FILE] [--port PORT]',
  help: `Starts everything in one process with embedded storage (PGlite in .gatehouse/data) and, in
development mode, demo accounts and clients. Stops cleanly on Ctrl-C or SIGTERM. Reloads
gateway.routes when the configuration file changes or on SIGHUP, like gatehouse gateway: an invalid
new file is refused (logged) and the routes in force stay.

${configHelp}
  -p, --port PORT     gateway port (default 8080; same as GATEHOUSE_SERVER__PORT)`,
  options: { ...configOptions, port: { type: 'string', short: 'p' } },
  async run({ values }) {
    const env = { ...process.env };
    if (typeof values.port === 'string') env.GATEHOUSE_SERVER__PORT = values.port;
    const config = loadConfigOrReport('dev', values.config, env);
    if (!config) return 1;
    const started = Date.now();
    const { startStack } = await import('../stack.ts');
    const { loadExamples } = await import('../examples.ts');
    const { examples, notes } = demoEnabled(config) ? await loadExamples() : { examples: [], notes: [] };
    for (const note of notes) console.log(note);
    const stack = await startStack(config, { demo: demoEnabled(config), examples });
    const file = configFileOf(values.config, env);
    if (file) {
      const { watchGatewayConfig } = await import('@gatehouse/gateway');
      const stop = watchGatewayConfig({
        file,
        load: () => loadGatehouseConfig(file, env).gateway,
        reload: (section) => stack.reloadGateway(section),
        logger: stack.logger,
      });
      stack.shutdown.add('config watch', stop);
    } else {
      // Without a handler SIGHUP ends the process, silently: say there is nothing to reload instead.
      const onHup = () =>
        stack.logger.warn('SIGHUP: no configuration file to reload (start with --config FILE)');
      process.on('SIGHUP', onHup);
      stack.shutdown.add('SIGHUP', () => {
        process.off('SIGHUP', onHup);
      });
    }
    stack.shutdown.installSignalHandlers();
    const origin = config.server.publicUrl;
    const lines = [
      '',
      `Gatehouse is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      '',
      `  gateway      ${origin}   (listening on ${stack.gatewayUrl})`,
      `  issuer       ${stack.issuer}`,
      `  discovery    ${stack.issuer}/.well-known/openid-configuration`,
      `  demo service ${origin}/echo   (needs a token; shows the identity headers it receives)`,
      `  health       ${origin}/_gatehouse/health/ready   metrics ${origin}/_gatehouse/metrics`,
    ];
    if (config.authz.dev) {
      lines.push(
        `  authz        ${origin}/authz   (OpenFGA API, AuthZEN at ${origin}/authz/.well-known/authzen-configuration)`,
      );
    }
    if (stack.demoSeeded) {
      lines.push(
        '',
        'Demo fixtures (development only):',
        '  users    alice / alice-password (roles admin, user)    bob / bob-password (role user)',
        ...(examples.some((e) => e.demoAccounts?.some((a) => a.username === 'carol'))
          ? ['           carol / carol-password (roles editor, user: the PartsCoder parts editor)']
          : []),
        '  clients  demo-service / demo-service-secret (client credentials)',
        `           demo-app (public, code + PKCE, redirect ${origin}/callback)`,
        '',
        'Try it:',
        `  TOKEN=$(curl -s -u demo-service:demo-service-secret -d grant_type=client_credentials ${stack.issuer}/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
        `  curl -H "Authorization: Bearer $TOKEN" ${origin}/echo`,
      );
    }
    lines.push('', 'Press Ctrl-C to stop.', '');
    console.log(lines.join('\n'));
    return undefined;
  },
};
