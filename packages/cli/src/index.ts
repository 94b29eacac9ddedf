// The public entry point of @gatehouse/cli: the command itself (`gatehouse`, bin.ts) and the contract
// a reference system implements to run behind `gatehouse dev`.

// The HTML form reader of `gatehouse bench`, shared with the idp's login benchmark.
export { findForms, type HtmlForm } from './bench/html-form.ts';
// The development CA of `gatehouse certs`, for tests that need the certificates a team would use.
export { createDevCa, issueCertificate, type PemPair } from './certs/dev-ca.ts';
export type {
  Example,
  ExampleContext,
  ExampleDemoAccount,
  ExampleHandle,
  ExampleService,
} from './example-contract.ts';
export { main } from './main.ts';
