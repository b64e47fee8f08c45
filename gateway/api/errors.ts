/**
 * API errors: one shape for every refusal, {error: {code, message}}, with a
 * message that says what to change. Internal failures say nothing internal.
 */
import type { FastifyError } from 'fastify';
import { ControlError } from '../device/controls.js';
import { errorBody, type ErrorBody } from '../../protocol/api/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (appId: string): ApiError => new ApiError(404, 'not_found', `no app ${appId} is known to this gateway`);
export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message);
export const conflict = (message: string): ApiError => new ApiError(409, 'conflict', message);
export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);

export { errorBody, type ErrorBody };

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns a fastify error into a status and body; the boolean says whether it was expected. */
export function describeError(err: FastifyError | ApiError | Error): { status: number; body: ErrorBody; expected: boolean } {
  if (err instanceof ApiError) return { status: err.status, body: errorBody(err.code, err.message), expected: true };
  // The hub re-checks what the route checked; a status change in between surfaces here.
  if (err instanceof ControlError) {
    const status = err.code === 'unknown_app' ? 404 : err.code === 'app_terminal' ? 409 : 400;
    return { status, body: errorBody(status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'bad_request', err.message), expected: true };
  }
  const fe = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (fe.validation) return { status: 400, body: errorBody('bad_request', validationMessage(fe.validationContext ?? 'request', fe.validation)), expected: true };
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, body: errorBody(clientCode(status), fe.message), expected: true };
  return { status: 500, body: errorBody('internal', 'the gateway failed to answer this request; it has been logged'), expected: false };
}

/** "body/appId must be a UUID": the part, the field, and what it must be. */
function validationMessage(part: string, issues: AjvIssue[]): string {
  const first = issues[0];
  if (!first) return `${part} is not valid`;
  const where = `${part}${first.instancePath ?? ''}`;
  const p = first.params ?? {};
  switch (first.keyword) {
    case 'required':
      return `${where}/${String(p.missingProperty)} is required`;
    case 'additionalProperties':
      return `${where}/${String(p.additionalProperty)} is not a known field`;
    case 'pattern':
      return `${where} ${String(p.pattern).includes('{12}') ? 'must be a UUID' : `must match ${String(p.pattern)}`}`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    default:
      return `${where} ${first.message ?? 'is not valid'}`;
  }
}

function clientCode(status: number): string {
  if (status === 413) return 'too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 404) return 'not_found';
  return 'bad_request';
}
