/**
 * The contract every dialect implements (see index.ts and DESIGN §4), and the rows and arguments the
 * key store hands to it and gets back.
 */
import type { Knex } from 'knex';

import type { DatabaseKind } from '../connection';
import type { TableNames } from '../schema';

export type Strategy = 'sequential' | 'random';

export const RAND_MAX = 2147483647;

/** Rows per import transaction: big enough to amortise the commit, small enough not to starve claims. */
export const IMPORT_COMMIT_ROWS = 50000;

export interface ClaimArgs {
	sku: string;
	quantity: number;
	strategy: Strategy;
	deliveryId: number;
	now: number;
}

export interface ClaimedRow {
	id: number;
	secret: string;
	seq: number;
}

export interface NewKeyRow {
	sku: string;
	seq: number;
	rand: number;
	secret: string;
	fingerprint: string;
	status: 'available';
	batch_id: string;
	created_at: number;
}

export interface DeliveryInsert {
	order_id: string;
	sku: string;
	quantity: number;
	status: string;
	strategy: string | null;
	content: string | null;
	buyer_id: string | null;
	buyer_name: string | null;
	buyer_email: string | null;
	buyer_ip: string | null;
	amount: number | null;
	/** Part of the order's identity; '' for the default shop, never null. */
	shop: string;
	created_at: number;
	updated_at: number;
	revoked_at?: number | null;
	revoke_reason?: string | null;
}

/** What the one-shot claim needs besides the delivery row. */
export interface FastClaimArgs {
	row: DeliveryInsert;
	strategy: Strategy;
	actor: string | null;
}

/** A new delivery made by the one-shot claim; null from fastClaim means "take the careful path". */
export interface FastClaimResult {
	deliveryId: number;
	/** Sealed fixed content, when the product has it (then `keys` is empty). */
	content: string | null;
	keys: ClaimedRow[];
}

export interface Dialect {
	readonly kind: DatabaseKind;
	/**
	 * The common case in as few round trips as the database allows: new order line, known product,
	 * enough free keys. Answers null whenever anything else may be going on (replay, tombstone,
	 * unknown sku, short or locked stock, busy database) — the caller then runs the full algorithm.
	 */
	fastClaim?(db: Knex, t: TableNames, args: FastClaimArgs): Promise<FastClaimResult | null>;
	/** Transaction options for claim transactions. */
	readonly txConfig: Knex.TransactionConfig;
	/** Largest number of key rows in one INSERT. */
	readonly insertChunk: number;
	insertDeliveryIgnore(trx: Knex.Transaction, t: TableNames, row: DeliveryInsert): Promise<number | null>;
	/** Assigns up to `quantity` available keys; may return fewer (the caller decides all-or-nothing). */
	claimKeys(trx: Knex.Transaction, t: TableNames, args: ClaimArgs): Promise<ClaimedRow[]>;
	/**
	 * Bulk import: inserts chunks of `insertChunk` rows, skipping (sku, fingerprint) duplicates, and
	 * returns how many went in. Commits every IMPORT_COMMIT_ROWS rows or so, so claims keep running
	 * (SQLite, MySQL: releasing the connection in between; PostgreSQL: two connections held for the
	 * import, each committing its share), and overlaps sealing the next chunk with inserting this one.
	 */
	bulkInsertKeys(db: Knex, t: TableNames, chunks: AsyncIterable<NewKeyRow[]>): Promise<number>;
	isTransient(err: unknown): boolean;
}
