/**
 * One domain error type for the whole API. `type` names the problem; the problem middleware maps it to an HTTP
 * status and an RFC 9457 problem+json body.
 */
export const PROBLEM_STATUS = {
  'validation-error': 400,
  'malformed-json': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'unprocessable-entity': 422,
  'rate-limited': 429,
  'not-ready': 503,
  'dependency-unavailable': 503,
  internal: 500,
} as const;

export type ProblemType = keyof typeof PROBLEM_STATUS;

export interface FieldProblem {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly type: ProblemType,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return PROBLEM_STATUS[this.type];
  }
}

export const problemTypeUri = (type: ProblemType) => `urn:finflow:problem:${type}`;
