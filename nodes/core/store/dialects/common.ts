/**
 * What more than one dialect uses: INSERTs with bound VALUES (deliveries everywhere, key chunks on
 * MySQL), the SKIP LOCKED claim loop (PostgreSQL, MySQL) and the pipelined import (SQLite, MySQL).
 */
import { randomInt } from 'crypto';
import type { Knex } from 'knex';

import { AVAILABLE, type TableNames } from '../schema';
import {
	type ClaimArgs,
	type ClaimedRow,
	type DeliveryInsert,
	type NewKeyRow,
	type Strategy,
	IMPORT_COMMIT_ROWS,
	RAND_MAX,
} from './types';

export const KEY_COLUMNS = ['sku', 'seq', 'rand', 'secret', 'fingerprint', 'status', 'batch_id', 'created_at'] as const;
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

/**
 * `INSERT INTO table (cols) VALUES (…), … <tail>` with every value bound; `tail` is the dialect's
 * conflict clause. Resolves to the driver's raw result, whose shape differs per database.
 */
export async function insertValues(
	db: Knex | Knex.Transaction,
	table: string,
	cols: readonly string[],
	rows: ReadonlyArray<Record<string, unknown>>,
	tail: string,
): Promise<unknown> {
	const v = valuesClause(rows, cols);
	return db.raw(`INSERT INTO ?? (${cols.join(', ')}) VALUES ${v.sql} ${tail}`, [table, ...v.bindings] as readonly Knex.RawBinding[]);
}

/** Inserts one delivery row; `tail` turns a (shop, order_id, sku) conflict into nothing (the latch). */
export function insertDelivery(trx: Knex.Transaction, t: TableNames, row: DeliveryInsert, tail: string): Promise<unknown> {
	return insertValues(trx, t.deliveries, DELIVERY_COLUMNS, [row as unknown as Record<string, unknown>], tail);
}

export const num = (v: unknown) => Number(v);

export function toClaimed(rows: Array<{ id: unknown; secret: string; seq: unknown }>): ClaimedRow[] {
	return rows.map((r) => ({ id: num(r.id), secret: r.secret, seq: num(r.seq) }));
}

/** Sequential or random pick, as (condition, ordering) pairs tried in turn. */
export function pickPlans(strategy: Strategy): Array<{ where: string; order: string; bindRand: boolean }> {
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
export async function claimWithSkipLocked(
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
		const row = await trx(t.keys).where({ sku: args.sku }).whereRaw(AVAILABLE).count({ c: '*' }).first();
		const visible = num(row?.c ?? 0);
		if (visible < need || Date.now() - started > LOCKED_WAIT_MS) return got;
		await new Promise((res) => setTimeout(res, Math.min(5 + attempt * 5, 50)));
	}
}

/**
 * Runs `insert` for each chunk with at most one insert in flight while the next chunk is being
 * prepared (sealing is CPU work in this thread; the insert runs in the driver / the server), and
 * groups chunks into transactions of about IMPORT_COMMIT_ROWS rows.
 */
export async function pipelinedImport<C>(
	chunks: AsyncIterable<NewKeyRow[]>,
	open: () => Promise<C>,
	insert: (conn: C, rows: NewKeyRow[]) => Promise<number>,
	commit: (conn: C) => Promise<void>,
	abort: (conn: C) => Promise<void>,
	commitRows = IMPORT_COMMIT_ROWS,
): Promise<number> {
	let inserted = 0;
	let conn: C | null = null;
	let inGroup = 0;
	let inflight: Promise<number> | null = null;
	const settle = async () => {
		if (inflight) {
			const p = inflight;
			inflight = null;
			inserted += await p;
		}
	};
	try {
		for await (const rows of chunks) {
			if (!rows.length) continue;
			if (!conn) {
				conn = await open();
				inGroup = 0;
			}
			await settle();
			inflight = insert(conn, rows);
			inflight.catch(() => undefined); // awaited in settle(); avoid an unhandled rejection meanwhile
			inGroup += rows.length;
			if (inGroup >= commitRows) {
				await settle();
				const c: C = conn;
				conn = null;
				await commit(c);
			}
		}
		await settle();
		if (conn) {
			const c: C = conn;
			conn = null;
			await commit(c);
		}
		return inserted;
	} catch (err) {
		await Promise.resolve(inflight).catch(() => undefined);
		if (conn) await abort(conn).catch(() => undefined);
		throw err;
	}
}
