/**
 * Every REST refusal has one shape (docs/API.md "Errors"): {error: {code,
 * message}}, with a message that says what to change.
 */

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
