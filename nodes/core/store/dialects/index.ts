/**
 * Claim SQL per database (DESIGN §4). Each dialect knows how to
 *  - insert a delivery unless one exists for (shop, order_id, sku) — the idempotency latch,
 *  - assign up to N available keys of a sku to a delivery inside the caller's transaction,
 *  - insert keys skipping (sku, fingerprint) duplicates and report how many went in,
 *  - tell which errors are transient (deadlock, busy) so the caller retries the transaction.
 *
 * Sequential picks walk the (sku, status, seq, id) index; random picks start at a random point of
 * the (sku, status, rand) index and wrap around — both are index range scans, never a sort of the pool.
 *
 * types.ts holds the Dialect contract and its rows, common.ts what several dialects share, and
 * sqlite.ts, postgres.ts, mysql.ts (with mysqlPick.ts) one database each.
 */
import type { DatabaseKind } from '../connection';
import { mysqlDialect } from './mysql';
import { postgresDialect } from './postgres';
import { sqliteDialect } from './sqlite';
import type { Dialect } from './types';

export type {
	ClaimArgs,
	ClaimedRow,
	DeliveryInsert,
	Dialect,
	FastClaimArgs,
	FastClaimResult,
	NewKeyRow,
	Strategy,
} from './types';
export { IMPORT_COMMIT_ROWS, RAND_MAX } from './types';
export { mysqlDialect, postgresDialect, sqliteDialect };

export function dialectFor(kind: DatabaseKind): Dialect {
	return kind === 'sqlite' ? sqliteDialect : kind === 'postgres' ? postgresDialect : mysqlDialect;
}
