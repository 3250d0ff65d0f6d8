/** The internal context every store module works with: the Knex handle, table names, sealing keys, dialect and transactions. */
import { randomInt } from 'crypto';
import type { Knex } from 'knex';

import type { KeyMaterial } from '../secrets';
import type { DatabaseKind } from './connection';
import { type Dialect, dialectFor } from './dialects';
import { type EventFields, appendEvent } from './events';
import { type TableNames } from './schema';

/** An error class whose instances make tx() run the transaction again. */
export type RetryOn = abstract new (...args: never[]) => Error;

/** What the store modules share; it never leaves nodes/core/store (tests reach it through internals.ts). */
export interface StoreContext {
	readonly db: Knex;
	readonly t: TableNames;
	/** The sealing keys. */
	readonly km: KeyMaterial;
	readonly kind: DatabaseKind;
	readonly dialect: Dialect;
	/**
	 * Runs fn in a transaction (BEGIN IMMEDIATE on SQLite), retrying on deadlocks / busy errors with
	 * jittered backoff. fn may run more than once: keep side effects inside the database.
	 */
	tx<T>(fn: (trx: Knex.Transaction) => Promise<T>, retryOn?: RetryOn): Promise<T>;
	/** Appends an audit event (never pass a secret in details). */
	event(db: Knex | Knex.Transaction, type: string, fields: EventFields): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function makeContext(db: Knex, kind: DatabaseKind, t: TableNames, km: KeyMaterial): StoreContext {
	const ctx: StoreContext = {
		db,
		t,
		km,
		kind,
		dialect: dialectFor(kind),
		tx: <T>(fn: (trx: Knex.Transaction) => Promise<T>, retryOn?: RetryOn) => runTx(ctx, fn, retryOn),
		event: (on: Knex | Knex.Transaction, type: string, fields: EventFields) => appendEvent(ctx, on, type, fields),
	};
	return ctx;
}

async function runTx<T>(ctx: StoreContext, fn: (trx: Knex.Transaction) => Promise<T>, retryOn?: RetryOn): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await ctx.db.transaction(fn, ctx.dialect.txConfig);
		} catch (err) {
			const again = ctx.dialect.isTransient(err) || (retryOn !== undefined && err instanceof retryOn);
			if ((attempt < 12 || (ctx.kind === 'sqlite' && attempt < 60)) && again) {
				await sleep(Math.min(200, 2 ** attempt) + randomInt(0, 20));
				continue;
			}
			throw err;
		}
	}
}

// ---------------------------------------------------------------- one context per KeyStore

const contexts = new WeakMap<object, StoreContext>();

/** Ties a context to the KeyStore that owns it (the KeyStore constructor does this). */
export function bindContext(owner: object, ctx: StoreContext): void {
	contexts.set(owner, ctx);
}

/** The context of a KeyStore. */
export function contextOf(owner: object): StoreContext {
	const ctx = contexts.get(owner);
	if (!ctx) throw new TypeError('Not an open KeyStore.');
	return ctx;
}
