export { type ConsoleHandler, type ConsoleOptions, createConsole } from './console-server.ts';
export { consoleErrors } from './errors.ts';
