/**
 * Claim SQL per database (DESIGN §4). Each dialect knows how to
 *  - insert a delivery unless one exists for (order_id, sku) — the idempotency latch,
 *  - assign up to N available keys of a sku to a delivery inside the caller's transaction,
 *  - insert keys skipping (sku, fingerprint) duplicates and report how many went in,
 *  - tell which errors are transient (deadlock, busy) so the caller retries the transaction.
 *
 * Sequential picks walk the (sku, status, seq, id) index; random picks start at a random point of
 * the (sku, status, rand) index and wrap around — both are index range scans, never a sort of the pool.
 */
import { randomInt } from 'crypto';
import type { Knex } from 'knex';

import type { DatabaseKind } from '../connection';
import type { TableNames } from '../schema';

export type Strategy = 'sequential' | 'random';

export const RAND_MAX = 2147483647;

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
	shop: string | null;
	created_at: number;
	updated_at: number;
	revoked_at?: number | null;
	revoke_reason?: string | null;
}

export interface Dialect {
	readonly kind: DatabaseKind;
	/** Transaction options for claim transactions. */
	readonly txConfig: Knex.TransactionConfig;
	/** Largest number of key rows in one INSERT. */
	readonly insertChunk: number;
	insertDeliveryIgnore(trx: Knex.Transaction, t: TableNames, row: DeliveryInsert): Promise<number | null>;
	/** Assigns up to `quantity` available keys; may return fewer (the caller decides all-or-nothing). */
	claimKeys(trx: Knex.Transaction, t: TableNames, args: ClaimArgs): Promise<ClaimedRow[]>;
	insertKeysIgnore(trx: Knex.Transaction | Knex, t: TableNames, rows: NewKeyRow[]): Promise<number>;
	isTransient(err: unknown): boolean;
}

const KEY_COLUMNS = ['sku', 'seq', 'rand', 'secret', 'fingerprint', 'status', 'batch_id', 'created_at'] as const;
const DELIVERY_COLUMNS = [
	'order_id', 'sku', 'quantity', 'status', 'strategy', 'content', 'buyer_id', 'buyer_name',
	'buyer_email', 'buyer_ip', 'amount', 'shop', 'created_at', 'updated_at', 'revoked_at', 'revoke_reason',
] as const;

function valuesClause(rows: ReadonlyArray<Record<string, unknown>>, cols: readonly string[]) {
	const one = `(${cols.map(() => '?').join(', ')})`;
	const sql = rows.map(() => one).join(', ');
	const bindings: unknown[] = [];
	for (const r of rows) for (const c of cols) bindings.push(r[c] ?? null);
	return { sql, bindings };
}

function deliveryValues(row: DeliveryInsert) {
	return valuesClause([row as unknown as Record<string, unknown>], DELIVERY_COLUMNS);
}

const num = (v: unknown) => Number(v);

function toClaimed(rows: Array<{ id: unknown; secret: string; seq: unknown }>): ClaimedRow[] {
	return rows.map((r) => ({ id: num(r.id), secret: r.secret, seq: num(r.seq) }));
}

/** Sequential or random pick, as (condition, ordering) pairs tried in turn. */
function pickPlans(strategy: Strategy): Array<{ where: string; order: string; bindRand: boolean }> {
	if (strategy === 'random') {
		return [
			{ where: 'rand >= ?', order: 'rand, id', bindRand: true },
			{ where: 'rand < ?', order: 'rand, id', bindRand: true },
		];
	}
	return [{ where: '1 = 1', order: 'seq, id', bindRand: false }];
}

/** How long a claim waits for keys locked by other in-flight claims before calling it out of stock. */
const LOCKED_WAIT_MS = 5000;

/**
 * PostgreSQL and MySQL pick with SKIP LOCKED, so concurrent claims never wait on each other's
 * rows. When fewer keys than needed were free but the sku still shows enough available rows, those
 * rows are locked by in-flight claims that may yet roll back: wait briefly and look again, so
 * "out of stock" is only answered when it is true.
 */
async function claimWithSkipLocked(
	trx: Knex.Transaction,
	t: TableNames,
	args: ClaimArgs,
	pick: (n: number, where: string, order: string, bindings: unknown[]) => Promise<ClaimedRow[]>,
): Promise<ClaimedRow[]> {
	const got: ClaimedRow[] = [];
	const r = args.strategy === 'random' ? randomInt(0, RAND_MAX) : 0;
	const started = Date.now();
	for (let attempt = 0; ; attempt++) {
		for (const plan of pickPlans(args.strategy)) {
			const need = args.quantity - got.length;
			if (need <= 0) break;
			got.push(...(await pick(need, plan.where, plan.order, plan.bindRand ? [r] : [])));
		}
		const need = args.quantity - got.length;
		if (need <= 0) return got;
		const row = await trx(t.keys).where({ sku: args.sku, status: 'available' }).count({ c: '*' }).first();
		const visible = num(row?.c ?? 0);
		if (visible < need || Date.now() - started > LOCKED_WAIT_MS) return got;
		await new Promise((res) => setTimeout(res, Math.min(5 + attempt * 5, 50)));
	}
}

export const sqliteDialect: Dialect = {
	kind: 'sqlite',
	txConfig: {},
	insertChunk: 1000,
	async insertDeliveryIgnore(trx, t, row) {
		const v = deliveryValues(row);
		const rows = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (order_id, sku) DO NOTHING RETURNING id`,
			[t.deliveries, ...v.bindings] as readonly Knex.RawBinding[],
		)) as Array<{ id: number }>;
		return rows.length ? num(rows[0].id) : null;
	},
	async claimKeys(trx, t, args) {
		// The transaction holds SQLite's write lock (BEGIN IMMEDIATE): a conditional UPDATE … RETURNING
		// cannot race with another writer, in this process or another.
		const got: ClaimedRow[] = [];
		const r = args.strategy === 'random' ? randomInt(0, RAND_MAX) : 0;
		for (const plan of pickPlans(args.strategy)) {
			const need = args.quantity - got.length;
			if (need <= 0) break;
			const rows = (await trx.raw(
				`UPDATE ?? SET status = 'assigned', delivery_id = ?, assigned_at = ?
				 WHERE id IN (SELECT id FROM ?? WHERE sku = ? AND status = 'available' AND ${plan.where} ORDER BY ${plan.order} LIMIT ?)
				 AND status = 'available'
				 RETURNING id, secret, seq`,
				[t.keys, args.deliveryId, args.now, t.keys, args.sku, ...(plan.bindRand ? [r] : []), need],
			)) as Array<{ id: number; secret: string; seq: number }>;
			got.push(...toClaimed(rows));
		}
		return got;
	},
	async insertKeysIgnore(db, t, rows) {
		if (!rows.length) return 0;
		const v = valuesClause(rows as unknown as Array<Record<string, unknown>>, KEY_COLUMNS);
		const res = (await db.raw(
			`INSERT INTO ?? (${KEY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (sku, fingerprint) DO NOTHING RETURNING id`,
			[t.keys, ...v.bindings] as readonly Knex.RawBinding[],
		)) as unknown[];
		return res.length;
	},
	isTransient(err) {
		const code = String((err as { code?: string })?.code ?? '');
		return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
	},
};

export const postgresDialect: Dialect = {
	kind: 'postgres',
	txConfig: { isolationLevel: 'read committed' },
	insertChunk: 5000,
	async insertDeliveryIgnore(trx, t, row) {
		const v = deliveryValues(row);
		const res = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (order_id, sku) DO NOTHING RETURNING id`,
			[t.deliveries, ...v.bindings] as readonly Knex.RawBinding[],
		)) as { rows: Array<{ id: number }> };
		return res.rows.length ? num(res.rows[0].id) : null;
	},
	async claimKeys(trx, t, args) {
		return claimWithSkipLocked(trx, t, args, async (n, where, order, extra) => {
			const res = (await trx.raw(
				`UPDATE ?? SET status = 'assigned', delivery_id = ?, assigned_at = ?
				 WHERE id IN (SELECT id FROM ?? WHERE sku = ? AND status = 'available' AND ${where}
				              ORDER BY ${order} LIMIT ? FOR UPDATE SKIP LOCKED)
				 RETURNING id, secret, seq`,
				[t.keys, args.deliveryId, args.now, t.keys, args.sku, ...extra, n] as readonly Knex.RawBinding[],
			)) as { rows: Array<{ id: number; secret: string; seq: number }> };
			return toClaimed(res.rows);
		});
	},
	async insertKeysIgnore(db, t, rows) {
		if (!rows.length) return 0;
		const v = valuesClause(rows as unknown as Array<Record<string, unknown>>, KEY_COLUMNS);
		const res = (await db.raw(
			`INSERT INTO ?? (${KEY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (sku, fingerprint) DO NOTHING`,
			[t.keys, ...v.bindings] as readonly Knex.RawBinding[],
		)) as { rowCount: number };
		return res.rowCount;
	},
	isTransient(err) {
		const code = String((err as { code?: string })?.code ?? '');
		return code === '40P01' || code === '40001' || code === '55P03';
	},
};

export const mysqlDialect: Dialect = {
	kind: 'mysql',
	// READ COMMITTED: no gap locks (fewer deadlocks) and the stock count sees committed rows.
	txConfig: { isolationLevel: 'read committed' },
	insertChunk: 2000,
	async insertDeliveryIgnore(trx, t, row) {
		const v = deliveryValues(row);
		// ON DUPLICATE KEY UPDATE id = id: 0 rows affected when the (order_id, sku) latch exists.
		// (INSERT IGNORE would also swallow truncation errors.)
		const [res] = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON DUPLICATE KEY UPDATE id = id`,
			[t.deliveries, ...v.bindings] as readonly Knex.RawBinding[],
		)) as [{ affectedRows: number; insertId: number }];
		return res.affectedRows === 1 ? num(res.insertId) : null;
	},
	async claimKeys(trx, t, args) {
		return claimWithSkipLocked(trx, t, args, async (n, where, order, extra) => {
			const [rows] = (await trx.raw(
				`SELECT id, secret, seq FROM ?? WHERE sku = ? AND status = 'available' AND ${where}
				 ORDER BY ${order} LIMIT ? FOR UPDATE SKIP LOCKED`,
				[t.keys, args.sku, ...extra, n] as readonly Knex.RawBinding[],
			)) as [Array<{ id: number; secret: string; seq: number }>];
			if (!rows.length) return [];
			const [res] = (await trx.raw(
				`UPDATE ?? SET status = 'assigned', delivery_id = ?, assigned_at = ? WHERE id IN (${rows.map(() => '?').join(', ')}) AND status = 'available'`,
				[t.keys, args.deliveryId, args.now, ...rows.map((r) => r.id)] as readonly Knex.RawBinding[],
			)) as [{ affectedRows: number }];
			if (res.affectedRows !== rows.length) {
				throw Object.assign(new Error('claim lost a locked row'), { code: 'AD_CLAIM_CONFLICT' });
			}
			return toClaimed(rows);
		});
	},
	async insertKeysIgnore(db, t, rows) {
		if (!rows.length) return 0;
		const v = valuesClause(rows as unknown as Array<Record<string, unknown>>, KEY_COLUMNS);
		const [res] = (await db.raw(
			`INSERT INTO ?? (${KEY_COLUMNS.join(', ')}) VALUES ${v.sql} ON DUPLICATE KEY UPDATE id = id`,
			[t.keys, ...v.bindings] as readonly Knex.RawBinding[],
		)) as [{ affectedRows: number }];
		return res.affectedRows;
	},
	isTransient(err) {
		const e = err as { code?: string; errno?: number };
		return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'AD_CLAIM_CONFLICT';
	},
};

export function dialectFor(kind: DatabaseKind): Dialect {
	return kind === 'sqlite' ? sqliteDialect : kind === 'postgres' ? postgresDialect : mysqlDialect;
}
