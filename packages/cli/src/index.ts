// The public entry point of @gatehouse/cli: the command itself (`gatehouse`, bin.ts) and the contract
// a reference system implements to run behind `gatehouse dev`.
export type {
  Example,
  ExampleContext,
  ExampleDemoAccount,
  ExampleHandle,
  ExampleService,
} from './example-contract.ts';
export { main } from './main.ts';
