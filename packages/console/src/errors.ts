import { defineErrors } from '@gatehouse/core';

/** The console's own refusals; what the admin API refuses is shown with the admin API's code. */
export const consoleErrors = defineErrors({
  CONSOLE_NOT_FOUND: { status: 404, message: 'No such page' },
  CONSOLE_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  CONSOLE_SIGN_IN_REQUIRED: { status: 401, message: 'Sign in to use the console' },
  CONSOLE_CSRF_INVALID: {
    status: 403,
    message: 'This form was not sent from this console page; reload the page and try again',
  },
  CONSOLE_ADMIN_REQUIRED: { status: 403, message: 'The admin console needs the admin role' },
  CONSOLE_CROSS_SITE: { status: 403, message: 'This request must come from this site' },
  CONSOLE_ADMIN_API_UNAVAILABLE: { status: 502, message: 'The admin API could not be reached' },
});
