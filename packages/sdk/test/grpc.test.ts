import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Client,
  credentials,
  type Metadata,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { createGrpcClientInterceptor, createGrpcServerInterceptor, grpcPrincipalOf } from '../src/grpc.ts';
import { createVerifier, scopesRequirement, sdkError } from '../src/index.ts';
import { nowSec, startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

interface AddOrder {
  productId: string;
}
interface Added {
  orderId: string;
  addedBy: string;
}

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
};
const method = (path: string) => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
// A hand-written service definition with JSON messages: no .proto needed for the test.
const ordersService = {
  addOrder: method('/orders.Orders/AddOrder'),
  whoAmI: method('/orders.Orders/WhoAmI'),
} as ServiceDefinition;
const OrdersClient = makeGenericClientConstructor(ordersService, 'Orders');

type Unary = (req: unknown, callback: (err: ServiceError | null, res?: Added) => void) => void;

function call(client: Client, name: 'addOrder' | 'whoAmI', req: AddOrder): Promise<Added> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Unary>)[name]?.call(client, req, (err, res) =>
      err ? reject(err) : resolve(res as Added),
    );
  });
}

async function refused(promise: Promise<unknown>, code: status, sdkCode: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    assert.equal(e.code, code, e.details);
    assert.ok(e.details.startsWith(`${sdkCode}: `), e.details);
    assert.deepEqual(e.metadata.get('gatehouse-error'), [sdkCode]);
    return;
  }
  assert.fail(`expected ${sdkCode}`);
}

describe('gRPC interceptors', () => {
  let idp: TestIssuer;
  let server: Server;
  let address: string;
  const clients: Client[] = [];

  before(async () => {
    idp = await startTestIssuer();
    const verifier = createVerifier({ issuer: idp.issuer, audiences: ['orders'] });
    server = new Server({
      interceptors: [
        createGrpcServerInterceptor({
          verifier,
          methods: { '/orders.Orders/AddOrder': [scopesRequirement(['orders:add'])] },
        }),
      ],
    });
    const handler =
      (prefix: string) =>
      (
        c: { request: AddOrder; metadata: Metadata },
        cb: (e: ServerErrorResponse | null, r?: Added) => void,
      ) =>
        cb(null, { orderId: `${prefix}-${c.request.productId}`, addedBy: grpcPrincipalOf(c).subject });
    server.addService(ordersService, { addOrder: handler('order'), whoAmI: handler('me') });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await idp.close();
  });

  function clientWith(getToken?: () => Promise<string>): Client {
    const client = new OrdersClient(address, credentials.createInsecure(), {
      interceptors: getToken ? [createGrpcClientInterceptor({ getToken }, { audience: 'orders' })] : [],
    });
    clients.push(client);
    return client;
  }

  const serviceToken = (claims: Record<string, unknown> = {}) =>
    idp.sign({
      sub: 'products',
      client_id: 'products',
      sid: undefined,
      username: undefined,
      scope: 'orders:add',
      ...claims,
    });

  it('calls a method with a valid service token, the handler seeing the caller', async () => {
    const res = await call(
      clientWith(() => serviceToken()),
      'addOrder',
      { productId: 'p1' },
    );
    assert.deepEqual(res, { orderId: 'order-p1', addedBy: 'products' });
  });

  it('refuses a call without a token: UNAUTHENTICATED SDK_TOKEN_MISSING', async () => {
    await refused(
      call(clientWith(), 'addOrder', { productId: 'p1' }),
      status.UNAUTHENTICATED,
      'SDK_TOKEN_MISSING',
    );
  });

  it('refuses an expired token: UNAUTHENTICATED SDK_TOKEN_EXPIRED', async () => {
    const client = clientWith(() => serviceToken({ exp: nowSec() - 600 }));
    await refused(call(client, 'addOrder', { productId: 'p1' }), status.UNAUTHENTICATED, 'SDK_TOKEN_EXPIRED');
  });

  it('refuses a token for another audience: UNAUTHENTICATED SDK_AUDIENCE_INVALID', async () => {
    const client = clientWith(() => serviceToken({ aud: 'payments' }));
    await refused(
      call(client, 'whoAmI', { productId: 'p1' }),
      status.UNAUTHENTICATED,
      'SDK_AUDIENCE_INVALID',
    );
  });

  it('refuses a token without the method scope: PERMISSION_DENIED SDK_INSUFFICIENT_SCOPE', async () => {
    const client = clientWith(() => serviceToken({ scope: 'orders:read' }));
    await refused(
      call(client, 'addOrder', { productId: 'p1' }),
      status.PERMISSION_DENIED,
      'SDK_INSUFFICIENT_SCOPE',
    );
    const me = await call(client, 'whoAmI', { productId: 'p2' });
    assert.deepEqual(
      me,
      { orderId: 'me-p2', addedBy: 'products' },
      'a method without requirements still answers',
    );
  });

  it('ends the call with UNAVAILABLE when the client cannot get a token', async () => {
    const client = clientWith(async () => {
      throw sdkError('SDK_TOKEN_ENDPOINT_UNAVAILABLE');
    });
    await refused(
      call(client, 'addOrder', { productId: 'p1' }),
      status.UNAVAILABLE,
      'SDK_TOKEN_ENDPOINT_UNAVAILABLE',
    );
  });
});
