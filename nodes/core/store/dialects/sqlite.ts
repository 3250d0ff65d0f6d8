/**
 * SQLite (DESIGN §4): claims run under the database's write lock (BEGIN IMMEDIATE); the one-shot
 * claim is one statement on the claim view of migration 003, group-committed per process; bulk
 * imports bind each chunk as one JSON parameter.
 */
import { randomInt } from 'crypto';
import type { Knex } from 'knex';

import { retryBusy } from '../connection';
import { type TableNames, sqliteClaimView } from '../schema';
import { insertDelivery, num, pickPlans, pipelinedImport, toClaimed } from './common';
import { type ClaimedRow, type Dialect, type FastClaimArgs, type FastClaimResult, RAND_MAX } from './types';

/** SQLite: one writer at a time anyway; 100k rows hold the write lock for about 2 s. */
const SQLITE_IMPORT_COMMIT_ROWS = 100000;

type SqliteConn = {
	run(sql: string, params: unknown[], cb: (err: Error | null) => void): void;
	all(sql: string, params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void;
};
const sqlRun = (c: SqliteConn, sql: string, params: unknown[] = []) =>
	new Promise<void>((res, rej) => c.run(sql, params, (e) => (e ? rej(e) : res())));

function sqlitePickSql(t: TableNames, where: string, order: string): string {
	return `UPDATE ${t.keys} SET status = 'assigned', delivery_id = ?, assigned_at = ?
		WHERE id IN (SELECT id FROM ${t.keys} WHERE sku = ? AND status = 'available' AND ${where} ORDER BY ${order} LIMIT ?)
		AND status = 'available'
		RETURNING id, secret, seq`;
}

/** SQLite: the one-statement claim (INSERT INTO the claim view of migration 003 … RETURNING). */
function sqliteClaimSql(t: TableNames): string {
	const v = sqliteClaimView(t);
	return `INSERT INTO "${v}" (order_id, sku, quantity, strategy, rand_from, buyer_id, buyer_name, buyer_email, buyer_ip, amount, shop, now_ms, actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING (SELECT json_array(x.id, x.content, (SELECT json_group_array(json_array(k.id, k.secret, k.seq)) FROM "${t.keys}" k WHERE k.delivery_id = x.id))
		           FROM "${t.deliveries}" x WHERE x.shop = "${v}".shop AND x.order_id = "${v}".order_id AND x.sku = "${v}".sku) AS claimed`;
}

type SqliteStmt = {
	all(params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void;
	finalize(cb?: (err: Error | null) => void): void;
};
type SqliteDb = SqliteConn & {
	prepare(sql: string, cb: (err: Error | null) => void): SqliteStmt;
	close(cb?: (err: Error | null) => void): void;
};

/** Prepared statements per pooled SQLite connection: compiling the claim (with its trigger) once, not per claim. */
const sqliteStatements = new WeakMap<object, Map<string, SqliteStmt>>();

async function cachedStatement(conn: SqliteDb, sql: string): Promise<SqliteStmt> {
	let cache = sqliteStatements.get(conn);
	if (!cache) {
		const stmts = new Map<string, SqliteStmt>();
		cache = stmts;
		sqliteStatements.set(conn, stmts);
		// An unfinalized statement makes sqlite3_close fail: finalize them when the pool closes the connection.
		const close = conn.close;
		conn.close = function (this: SqliteDb, cb?: (err: Error | null) => void) {
			for (const st of stmts.values()) st.finalize();
			stmts.clear();
			return close.call(this, cb);
		};
	}
	const hit = cache.get(sql);
	if (hit) return hit;
	const st = await new Promise<SqliteStmt>((res, rej) => {
		const s: SqliteStmt = conn.prepare(sql, (err) => (err ? rej(err) : res(s)));
	});
	cache.set(sql, st);
	return st;
}

const SQLITE_OUT_OF_STOCK = 'ad_claim_out_of_stock';

/**
 * Runs one claim statement on `conn`. Null when the trigger refused (line exists, tombstone, unknown
 * sku) or aborted for lack of keys — the statement changed nothing, the caller runs the full claim.
 */
async function sqliteClaimOne(conn: SqliteDb, job: SqliteClaimJob): Promise<FastClaimResult | null> {
	const { t, a } = job;
	const r = a.row;
	const st = await cachedStatement(conn, sqliteClaimSql(t));
	let rows: Array<{ claimed: string | null }>;
	try {
		rows = await new Promise((res, rej) =>
			st.all(
				[r.order_id, r.sku, r.quantity, a.strategy, a.strategy === 'random' ? randomInt(0, RAND_MAX) : 0,
					r.buyer_id, r.buyer_name, r.buyer_email, r.buyer_ip, r.amount, r.shop, r.created_at, a.actor],
				(err, out) => (err ? rej(err) : res(out as Array<{ claimed: string | null }>)),
			),
		);
	} catch (err) {
		if (String((err as Error)?.message ?? '').includes(SQLITE_OUT_OF_STOCK)) return null;
		throw err;
	}
	if (rows.length !== 1 || rows[0].claimed === null) return null;
	const [deliveryId, content, keys] = JSON.parse(rows[0].claimed) as [number, string | null, Array<[number, string, number]>];
	const got = content ? [] : keys.map(([id, secret, seq]) => ({ id: num(id), secret, seq: num(seq) }));
	if (!content && got.length !== r.quantity) throw new Error(`claim invariant broken: ${got.length} of ${r.quantity} keys assigned`);
	return { deliveryId: num(deliveryId), content: content ?? null, keys: got };
}

interface SqliteClaimJob {
	t: TableNames;
	a: FastClaimArgs;
	resolve(r: FastClaimResult | null): void;
	reject(err: unknown): void;
}

/** Claims waiting for this process's SQLite connection, per knex instance. */
const sqliteClaimQueues = new WeakMap<Knex, { jobs: SqliteClaimJob[]; draining: boolean }>();

/** Most claims committed together (one BEGIN IMMEDIATE … COMMIT, one fsync); bounds the write-lock hold. */
const SQLITE_GROUP_MAX = 64;

/**
 * Group commit. The connection is taken once per round; everything queued by then runs in that
 * round: a single claim as one autocommit statement, several in one BEGIN IMMEDIATE … COMMIT with
 * one statement each. Every statement is atomic on its own (an aborted claim undoes only its own
 * changes and the others stay), so each claim is still all-or-nothing and idempotent; results are
 * handed out only after COMMIT returned. On any other error the round is rolled back and its claims
 * take the careful path.
 */
async function drainSqliteClaims(db: Knex, q: { jobs: SqliteClaimJob[]; draining: boolean }): Promise<void> {
	try {
		while (q.jobs.length) {
			let conn: SqliteDb;
			try {
				conn = (await db.client.acquireConnection()) as SqliteDb;
			} catch (err) {
				for (const j of q.jobs.splice(0)) j.reject(err);
				return;
			}
			const batch = q.jobs.splice(0, SQLITE_GROUP_MAX);
			try {
				await runSqliteClaimRound(conn, batch);
			} finally {
				await db.client.releaseConnection(conn);
			}
		}
	} finally {
		q.draining = false;
	}
}

async function runSqliteClaimRound(conn: SqliteDb, batch: SqliteClaimJob[]): Promise<void> {
	const failed = (j: SqliteClaimJob, err: unknown) => (sqliteDialect.isTransient(err) ? j.resolve(null) : j.reject(err));
	if (batch.length === 1) {
		const j = batch[0];
		try {
			j.resolve(await sqliteClaimOne(conn, j));
		} catch (err) {
			failed(j, err);
		}
		return;
	}
	try {
		await sqlRun(conn, 'BEGIN IMMEDIATE');
	} catch (err) {
		for (const j of batch) failed(j, err);
		return;
	}
	const results: Array<FastClaimResult | null> = [];
	try {
		for (const j of batch) results.push(await sqliteClaimOne(conn, j));
	} catch (err) {
		// Not a refusal of one claim: roll the whole round back; the claim that failed reports the
		// error, the others (nothing of theirs committed) take the careful path.
		await sqlRun(conn, 'ROLLBACK').catch(() => undefined);
		batch.forEach((j, i) => (i === results.length ? failed(j, err) : j.resolve(null)));
		return;
	}
	try {
		await sqlRun(conn, 'COMMIT');
	} catch {
		await sqlRun(conn, 'ROLLBACK').catch(() => undefined);
		for (const j of batch) j.resolve(null);
		return;
	}
	batch.forEach((j, i) => j.resolve(results[i]));
}

export const sqliteDialect: Dialect = {
	kind: 'sqlite',
	txConfig: {},
	insertChunk: 2000,
	async insertDeliveryIgnore(trx, t, row) {
		const rows = (await insertDelivery(trx, t, row, 'ON CONFLICT (shop, order_id, sku) DO NOTHING RETURNING id')) as Array<{ id: number }>;
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
			const rows = (await trx.raw(sqlitePickSql(t, plan.where, plan.order), [
				args.deliveryId, args.now, args.sku, ...(plan.bindRand ? [r] : []), need,
			])) as Array<{ id: number; secret: string; seq: number }>;
			got.push(...toClaimed(rows));
		}
		return got;
	},
	fastClaim(db, t, a) {
		// One statement per claim (migration 003's trigger), group-committed when several claims wait
		// for this process's connection.
		return new Promise<FastClaimResult | null>((resolve, reject) => {
			let q = sqliteClaimQueues.get(db);
			if (!q) {
				q = { jobs: [], draining: false };
				sqliteClaimQueues.set(db, q);
			}
			q.jobs.push({ t, a, resolve, reject });
			if (!q.draining) {
				q.draining = true;
				const queue = q;
				drainSqliteClaims(db, queue).catch((err: unknown) => {
					for (const j of queue.jobs.splice(0)) j.reject(err);
				});
			}
		});
	},

	async bulkInsertKeys(db, t, chunks) {
		// One bound parameter per chunk: the rows as a JSON array, expanded by SQLite's json_each.
		// Binding thousands of values is main-thread work; JSON.stringify + json_each is far cheaper.
		const sql = `INSERT INTO ${t.keys} (sku, seq, rand, secret, fingerprint, status, batch_id, created_at)
			SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, 'available', j.value ->> 5, j.value ->> 6
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (sku, fingerprint) DO NOTHING`;
		type Stmt = { run(params: unknown[], cb: (this: { changes: number }, err: Error | null) => void): void; finalize(cb?: () => void): void };
		type Conn = SqliteConn & { prepare(sql: string): Stmt };
		let stmt: Stmt | null = null;
		/** Finalizes the statement, ends the transaction with `end` and gives the connection back. */
		const finish = (end: 'COMMIT' | 'ROLLBACK') => async (conn: Conn) => {
			try {
				stmt?.finalize();
				stmt = null;
				await sqlRun(conn, end);
			} finally {
				await db.client.releaseConnection(conn);
			}
		};
		return pipelinedImport<Conn>(
			chunks,
			async () => {
				const conn = (await db.client.acquireConnection()) as Conn;
				try {
					await retryBusy(() => sqlRun(conn, 'BEGIN IMMEDIATE'));
				} catch (err) {
					await db.client.releaseConnection(conn);
					throw err;
				}
				stmt = conn.prepare(sql);
				return conn;
			},
			(_conn, rows) => {
				const json = JSON.stringify(rows.map((r) => [r.sku, r.seq, r.rand, r.secret, r.fingerprint, r.batch_id, r.created_at]));
				const st = stmt as Stmt;
				return new Promise<number>((res, rej) => st.run([json], function (err) {
					if (err) rej(err);
					else res(this.changes);
				}));
			},
			finish('COMMIT'),
			finish('ROLLBACK'),
			SQLITE_IMPORT_COMMIT_ROWS,
		);
	},
	isTransient(err) {
		const code = String((err as { code?: string })?.code ?? '');
		return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
	},
};
