import { defineErrors } from './errors.ts';

/** Errors of the SQL storage, the migrations and the shared fast state. */
export const storageErrors = defineErrors({
  GH_STORAGE_UNAVAILABLE: { status: 503, message: 'Storage does not answer' },
  GH_STORAGE_NESTED_QUERY: {
    status: 500,
    message: 'Inside a transaction, use its tx argument, not the outer sql',
  },
  GH_STORAGE_LOCKED: {
    status: 409,
    message: 'The embedded data folder is in use by another process',
  },
  GH_STORAGE_CLOSED: { status: 503, message: 'Storage is closed' },
  GH_MIGRATION_INVALID: { status: 500, message: 'A migration file is invalid' },
  GH_MIGRATION_CHECKSUM_MISMATCH: {
    status: 500,
    message: 'An applied migration file was changed after it was applied',
  },
  GH_MIGRATION_FAILED: { status: 500, message: 'A migration failed and was rolled back' },
  GH_STATE_UNAVAILABLE: { status: 503, message: 'Shared state does not answer' },
  GH_STATE_INVALID_ARGUMENT: { status: 500, message: 'Invalid argument to the shared state' },
});
