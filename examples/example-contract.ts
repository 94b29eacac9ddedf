// The interface every reference system exports; it belongs to the `gatehouse` command, which runs them.
export type {
  Example,
  ExampleContext,
  ExampleDemoAccount,
  ExampleHandle,
  ExampleService,
} from '@gatehouse/cli';
