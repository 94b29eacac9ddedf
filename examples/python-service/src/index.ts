import type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';
import { loadRoutesFile } from '../../shared/src/routes-file.ts';
import { pythonUnavailable, startPythonService } from './python-process.ts';

export {
  PYTHON,
  type PythonService,
  type PythonServiceOptions,
  pythonUnavailable,
  startPythonService,
} from './python-process.ts';

const ROUTES_FILE = new URL('../routes.yaml', import.meta.url);

/**
 * A FastAPI service verifying Gatehouse tokens with PyJWT: a service in another language needs no
 * Gatehouse code, only the issuer, its audience and the JWKS. Its audience is the gateway's default
 * audience (`server.publicUrl`), so the demo users' tokens are meant for it.
 */
export const example: Example = {
  name: 'python-service',
  title: 'A Python (FastAPI) service verifying tokens with PyJWT',
  clients: () => [],
  unavailable: async () => pythonUnavailable(),
  start: async (ctx: ExampleContext): Promise<ExampleHandle> => {
    const logger = ctx.logger.child({ service: 'python-service' });
    const service = await startPythonService({
      issuer: ctx.issuer,
      audience: ctx.publicUrl,
      jwksUri: ctx.jwksUri,
      log: (line) => logger.warn({ stderr: line }, 'python-service'),
    });
    try {
      const routes = await loadRoutesFile(ROUTES_FILE, {
        services: { 'python-service': [service.url] },
        limits: true,
      });
      return {
        services: [
          {
            name: 'python-service',
            url: service.url,
            healthPath: '/py/health',
            routes: ['/py/whoami', '/py/reports'],
          },
        ],
        routes,
        close: service.close,
      };
    } catch (err) {
      await service.close();
      throw err;
    }
  },
};
