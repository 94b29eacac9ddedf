export { parseBearer } from './bearer.ts';
export {
  certificateThumbprint,
  checkCertificateBinding,
  peerCertificateThumbprint,
} from './certificate-binding.ts';
export type { ClientCredentials } from './client-authentication.ts';
export {
  bearerChallenge,
  isSdkError,
  SdkError,
  type SdkErrorCode,
  type SdkErrorSpec,
  sdkError,
  sdkErrorCatalog,
} from './errors.ts';
export {
  ASSERTION_HEADER,
  ASSERTION_TYP,
  type AssertedPrincipal,
  type AssertedRequest,
  type AssertionInput,
  type AssertionSignerOptions,
  type AssertionTrustOptions,
  createAssertionSigner,
  createAssertionVerifier,
  MAX_ASSERTION_LIFETIME_SEC,
} from './gateway-assertion.ts';
export {
  type Authenticator,
  createAuthenticator,
  type GuardOptions,
  type GuardSpan,
  type GuardTracing,
  type RefusalLogger,
  type RequestView,
} from './guards/authenticate.ts';
export { type ErrorResponse, errorResponse } from './guards/error-response.ts';
export { type Requirement, rolesRequirement, scopesRequirement } from './guards/requirements.ts';
export {
  decodeIdentityValue,
  decodeRolesHeader,
  decodeScopesHeader,
  encodeIdentityValue,
  encodeRolesHeader,
  encodeScopesHeader,
} from './identity-header-encoding.ts';
export { isTrustedPeer, type MtlsTrustOptions, principalFromHeaders } from './mtls-trust.ts';
export {
  createHttpPermissionBackend,
  type HttpPermissionBackend,
  type HttpPermissionBackendOptions,
  type PermissionBackend,
  type PermissionQuery,
  type PermissionTuple,
} from './permissions/permission-backend.ts';
export {
  type BatchCheckOutcome,
  createPermissionClient,
  type PermissionCheck,
  type PermissionClient,
  type PermissionClientOptions,
} from './permissions/permission-client.ts';
export {
  type PermissionRequirement,
  type PermissionRequirementOptions,
  permissionRequirement,
} from './permissions/permission-requirement.ts';
export {
  defaultSubjectTemplates,
  permissionObject,
  permissionSubject,
  type SubjectTemplates,
} from './permissions/permission-templates.ts';
export type { Principal } from './principal.ts';
export {
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from './revocation-feed.ts';
export { parseRevocation, type Revocation } from './revocation-list.ts';
export {
  createServiceClient,
  type ExchangeOptions,
  type ServiceClient,
  type ServiceClientOptions,
  type TokenOptions,
} from './service-client.ts';
export {
  createVerifier,
  type Verifier,
  type VerifierOptions,
  type VerifierStats,
  type VerifyContext,
} from './verifier.ts';
export { IDENTITY_HEADER, SESSION_AUDIENCE, SESSION_COOKIE, SESSION_TOKEN_TYPE } from './wire-contract.ts';
