// Domain errors: what went wrong, by kind, for whoever called. Thrown by the store, the services and the pure core;
// each transport maps a kind to its own vocabulary in one place (the IPC dispatcher: main/ipc/dispatcher.ts).

/**
 * 'not-found': what the request names does not exist. 'conflict': the request does not fit the current state (it was
 * made against another, or something else holds it). 'invalid': the request or a file it names is wrong, and the
 * caller must fix it.
 */
export type DomainErrorKind = 'not-found' | 'conflict' | 'invalid';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, options?: ErrorOptions) {
    super('not-found', message, options);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, options?: ErrorOptions) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string, options?: ErrorOptions) {
    super('invalid', message, options);
    this.name = 'InvalidInputError';
  }
}
