/**
 * MySQL/MariaDB (DESIGN §4): claims lock only the keys they take (mysqlPick.ts) inside the
 * SKIP LOCKED claim loop; inserts use ON DUPLICATE KEY UPDATE id = id; bulk imports are pipelined.
 */
import type { Knex } from 'knex';

import type { TableNames } from '../schema';
import { KEY_COLUMNS, claimWithSkipLocked, insertDelivery, insertValues, num, pipelinedImport } from './common';
import { mysqlPick } from './mysqlPick';
import type { Dialect, NewKeyRow } from './types';

/** Chunk insert for MySQL/MariaDB: ON DUPLICATE KEY UPDATE id = id, so affectedRows counts only new rows (FOUND_ROWS is off). */
async function mysqlInsertKeys(db: Knex.Transaction, t: TableNames, rows: NewKeyRow[]): Promise<number> {
	if (!rows.length) return 0;
	const keyRows = rows as unknown as Array<Record<string, unknown>>;
	const [res] = (await insertValues(db, t.keys, KEY_COLUMNS, keyRows, 'ON DUPLICATE KEY UPDATE id = id')) as [{ affectedRows: number }];
	return res.affectedRows;
}

export const mysqlDialect: Dialect = {
	kind: 'mysql',
	// READ COMMITTED: no gap locks (fewer deadlocks) and the stock count sees committed rows.
	txConfig: { isolationLevel: 'read committed' },
	insertChunk: 2000,
	async insertDeliveryIgnore(trx, t, row) {
		// ON DUPLICATE KEY UPDATE id = id: 0 rows affected when the (shop, order_id, sku) latch exists.
		// (INSERT IGNORE would also swallow truncation errors.)
		const [res] = (await insertDelivery(trx, t, row, 'ON DUPLICATE KEY UPDATE id = id')) as [{ affectedRows: number; insertId: number }];
		return res.affectedRows === 1 ? num(res.insertId) : null;
	},
	async claimKeys(trx, t, args) {
		// Candidates are read without locks, then only the keys taken are locked (mysqlPick.ts, issue point 8).
		return claimWithSkipLocked(trx, t, args, mysqlPick(trx, t, args));
	},

	async bulkInsertKeys(db, t, chunks) {
		return pipelinedImport<Knex.Transaction>(
			chunks,
			() => db.transaction(),
			(trx, rows) => mysqlInsertKeys(trx, t, rows),
			async (trx) => {
				await trx.commit();
			},
			async (trx) => {
				await trx.rollback();
			},
		);
	},
	isTransient(err) {
		const e = err as { code?: string; errno?: number };
		return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'AD_CLAIM_CONFLICT';
	},
};
