/** Errors raised by the core. Messages are written for sellers and never contain a key. */
export class StoreError extends Error {
	readonly code: string;
	constructor(message: string, code = 'store_error') {
		super(message);
		this.name = 'StoreError';
		this.code = code;
	}
}

/** The Encryption Secret does not open this store (canary or a key failed to decrypt). */
export class WrongSecretError extends StoreError {
	constructor(message: string) {
		super(message, 'wrong_secret');
		this.name = 'WrongSecretError';
	}
}

/** Bad input: names the field; nothing was changed. */
export class ValidationError extends StoreError {
	readonly field: string;
	constructor(field: string, message: string) {
		super(message, 'invalid_input');
		this.name = 'ValidationError';
		this.field = field;
	}
}

/** The database cannot be reached or refused the login. */
export class ConnectionError extends StoreError {
	constructor(message: string, code: 'unreachable' | 'auth' | 'database' = 'unreachable') {
		super(message, code);
		this.name = 'ConnectionError';
	}
}
