import type * as GrpcJs from '@grpc/grpc-js';
import type { Interceptor, Metadata, ServerInterceptor, status } from '@grpc/grpc-js';
import { parseBearer } from './bearer.ts';
import { certificateThumbprint } from './certificate-binding.ts';
import { SdkError, sdkError } from './errors.ts';
import type { Requirement } from './guards/requirements.ts';
import { importPeer } from './peer-dependency.ts';
import type { Principal } from './principal.ts';
import type { ServiceClient, TokenOptions } from './service-client.ts';
import type { Verifier } from './verifier.ts';

const grpc = await importPeer<typeof GrpcJs>('@grpc/grpc-js', '@gatehouse/sdk/grpc');

/** Trailer metadata key carrying the sdk error code of a refused call. */
export const GRPC_ERROR_KEY = 'gatehouse-error';

function grpcStatusOf(err: SdkError): status {
  if (err.status === 401) return grpc.status.UNAUTHENTICATED;
  if (err.status === 403) return grpc.status.PERMISSION_DENIED;
  if (err.status === 503) return grpc.status.UNAVAILABLE;
  return grpc.status.INTERNAL;
}

function refusal(err: unknown): { code: status; details: string; metadata: Metadata } {
  const e = err instanceof SdkError ? err : sdkError('SDK_INTERNAL', undefined, { cause: err });
  const metadata = new grpc.Metadata();
  metadata.set(GRPC_ERROR_KEY, e.code);
  return { code: grpcStatusOf(e), details: `${e.code}: ${e.message}`, metadata };
}

/**
 * Client side: every call gets `authorization: Bearer <service token>` for `options.audience`.
 * When no token can be had, the call ends with UNAVAILABLE (or the code's status) before anything is sent.
 */
export function createGrpcClientInterceptor(
  client: Pick<ServiceClient, 'getToken'>,
  options: TokenOptions = {},
): Interceptor {
  return (callOptions, nextCall) =>
    new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        client.getToken(options).then(
          (token) => {
            metadata.set('authorization', `Bearer ${token}`);
            next(metadata, listener);
          },
          (err: unknown) => listener.onReceiveStatus(refusal(err)),
        );
      },
    });
}

const principals = new WeakMap<Metadata, Principal>();

/** The caller of a call that passed the server interceptor. */
export function grpcPrincipalOf(call: { metadata: Metadata }): Principal {
  const principal = principals.get(call.metadata);
  if (!principal)
    throw new Error('grpcPrincipalOf: the Gatehouse server interceptor did not run for this call');
  return principal;
}

export interface GrpcServerGuardOptions {
  verifier: Verifier;
  /** Requirements per method path ("/orders.Orders/AddOrder"); methods not listed need a valid token only. */
  methods?: Record<string, Requirement[]>;
  /** Methods callable without a token (health checks). */
  publicMethods?: string[];
}

/**
 * Server side: verifies the bearer token in the call metadata before the handler runs; refusals are
 * UNAUTHENTICATED (401 codes), PERMISSION_DENIED (403) or UNAVAILABLE (503), with the sdk code in the
 * details and in trailer `gatehouse-error`. Handlers read the caller with `grpcPrincipalOf(call)`.
 */
export function createGrpcServerInterceptor(options: GrpcServerGuardOptions): ServerInterceptor {
  const publicMethods = new Set(options.publicMethods ?? []);
  return (method, call) => {
    if (publicMethods.has(method.path)) return new grpc.ServerInterceptingCall(call);
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const values = metadata.get('authorization');
        const header =
          values.length === 0 ? undefined : values.length === 1 ? String(values[0]) : values.map(String);
        // Verified before the handler sees the call; messages wait meanwhile (grpc-js queues them).
        Promise.resolve()
          .then(() => {
            // RFC 8705: a certificate-bound token needs the client certificate of this connection.
            const cert = call.getAuthContext().sslPeerCertificate;
            const clientCertificateThumbprint = cert?.raw ? certificateThumbprint(cert.raw) : undefined;
            return options.verifier.verifyAccessToken(parseBearer(header), { clientCertificateThumbprint });
          })
          .then((principal) => {
            for (const r of options.methods?.[method.path] ?? []) r.check(principal);
            principals.set(metadata, principal);
            next(metadata);
          })
          .catch((err: unknown) => call.sendStatus(refusal(err)));
      })
      .build();
    return new grpc.ServerInterceptingCall(
      call,
      new grpc.ResponderBuilder().withStart((next) => next(listener)).build(),
    );
  };
}
