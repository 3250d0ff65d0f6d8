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
import { createHash, randomInt } from 'crypto';
import type { Knex } from 'knex';

import { type DatabaseKind, retryBusy } from '../connection';
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
	 * returns how many went in. Commits every IMPORT_COMMIT_ROWS rows (releasing the connection in
	 * between, so claims keep running) and overlaps sealing the next chunk with inserting this one.
	 */
	bulkInsertKeys(db: Knex, t: TableNames, chunks: AsyncIterable<NewKeyRow[]>): Promise<number>;
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


/** Rows per import transaction: big enough to amortise the commit, small enough not to starve claims. */
export const IMPORT_COMMIT_ROWS = 50000;
/** SQLite: one writer at a time anyway; 100k rows hold the write lock for about 2 s. */
const SQLITE_IMPORT_COMMIT_ROWS = 100000;

/**
 * Runs `insert` for each chunk with at most one insert in flight while the next chunk is being
 * prepared (sealing is CPU work in this thread; the insert runs in the driver / the server), and
 * groups chunks into transactions of about IMPORT_COMMIT_ROWS rows.
 */
async function pipelinedImport<C>(
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

/** The fixed-content-aware INSERT … SELECT of a new delivery, refusing order-wide tombstones. */
function fastDeliveryInsert(t: TableNames, ph: (v: unknown) => string, a: FastClaimArgs): string {
	const r = a.row;
	return `INSERT INTO ${t.deliveries} (order_id, sku, quantity, status, strategy, content, buyer_id, buyer_name, buyer_email, buyer_ip, amount, shop, created_at, updated_at)
		SELECT ${ph(r.order_id)}, p.sku, ${ph(r.quantity)}, 'claimed', CASE WHEN p.fixed_content IS NULL THEN ${ph(a.strategy)} ELSE NULL END, p.fixed_content,
		       ${ph(r.buyer_id)}, ${ph(r.buyer_name)}, ${ph(r.buyer_email)}, ${ph(r.buyer_ip)}, ${ph(r.amount)}, ${ph(r.shop)}, ${ph(r.created_at)}, ${ph(r.updated_at)}
		FROM ${t.products} p
		WHERE p.sku = ${ph(r.sku)}
		  AND NOT EXISTS (SELECT 1 FROM ${t.deliveries} w WHERE w.order_id = ${ph(r.order_id)} AND w.sku = '*' AND w.status = 'revoked')`;
}

type SqliteConn = {
	run(sql: string, params: unknown[], cb: (err: Error | null) => void): void;
	all(sql: string, params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void;
};
const sqlAll = (c: SqliteConn, sql: string, params: unknown[] = []) =>
	new Promise<Array<Record<string, unknown>>>((res, rej) => c.all(sql, params, (e, rows) => (e ? rej(e) : res(rows as Array<Record<string, unknown>>))));
const sqlRun = (c: SqliteConn, sql: string, params: unknown[] = []) =>
	new Promise<void>((res, rej) => c.run(sql, params, (e) => (e ? rej(e) : res())));

function sqlitePickSql(t: TableNames, where: string, order: string): string {
	return `UPDATE ${t.keys} SET status = 'assigned', delivery_id = ?, assigned_at = ?
		WHERE id IN (SELECT id FROM ${t.keys} WHERE sku = ? AND status = 'available' AND ${where} ORDER BY ${order} LIMIT ?)
		AND status = 'available'
		RETURNING id, secret, seq`;
}

export const sqliteDialect: Dialect = {
	kind: 'sqlite',
	txConfig: {},
	insertChunk: 2000,
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
			const rows = (await trx.raw(sqlitePickSql(t, plan.where, plan.order), [
				args.deliveryId, args.now, args.sku, ...(plan.bindRand ? [r] : []), need,
			])) as Array<{ id: number; secret: string; seq: number }>;
			got.push(...toClaimed(rows));
		}
		return got;
	},
	async fastClaim(db, t, a) {
		// Direct driver calls on the pooled connection: BEGIN IMMEDIATE, INSERT … SELECT, UPDATE …
		// RETURNING, event, COMMIT — five statements, no query builder in between.
		const conn = (await db.client.acquireConnection()) as SqliteConn;
		let open = false;
		try {
			await sqlRun(conn, 'BEGIN IMMEDIATE');
			open = true;
			const params: unknown[] = [];
			const ph = (v: unknown) => (params.push(v ?? null), '?');
			const ins = await sqlAll(conn, `${fastDeliveryInsert(t, ph, a)} ON CONFLICT (order_id, sku) DO NOTHING RETURNING id, content`, params);
			if (ins.length !== 1) return null;
			const deliveryId = num(ins[0].id);
			const content = (ins[0].content as string | null) ?? null;
			const got: ClaimedRow[] = [];
			if (!content) {
				const r = a.strategy === 'random' ? randomInt(0, RAND_MAX) : 0;
				for (const plan of pickPlans(a.strategy)) {
					const need = a.row.quantity - got.length;
					if (need <= 0) break;
					const rows = await sqlAll(conn, sqlitePickSql(t, plan.where, plan.order), [deliveryId, a.row.created_at, a.row.sku, ...(plan.bindRand ? [r] : []), need]);
					got.push(...toClaimed(rows as Array<{ id: number; secret: string; seq: number }>));
				}
				if (got.length !== a.row.quantity) return null;
			}
			await sqlRun(conn, `INSERT INTO ${t.events} (at, type, sku, order_id, delivery_id, count, actor, details) VALUES (?, 'claimed', ?, ?, ?, ?, ?, ?)`, [
				a.row.created_at, a.row.sku, a.row.order_id, deliveryId, a.row.quantity, a.actor,
				JSON.stringify(content ? { fixedContent: true } : { keyIds: got.map((k) => k.id).sort((x, y) => x - y), strategy: a.strategy }),
			]);
			await sqlRun(conn, 'COMMIT');
			open = false;
			return { deliveryId, content, keys: got };
		} catch (err) {
			if (sqliteDialect.isTransient(err)) return null;
			throw err;
		} finally {
			if (open) await sqlRun(conn, 'ROLLBACK').catch(() => undefined);
			await db.client.releaseConnection(conn);
		}
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
		const done = () => {
			stmt?.finalize();
			stmt = null;
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
			async (conn) => {
				try {
					done();
					await sqlRun(conn, 'COMMIT');
				} finally {
					await db.client.releaseConnection(conn);
				}
			},
			async (conn) => {
				try {
					done();
					await sqlRun(conn, 'ROLLBACK');
				} finally {
					await db.client.releaseConnection(conn);
				}
			},
			SQLITE_IMPORT_COMMIT_ROWS,
		);
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
	async fastClaim(db, t, a) {
		// One statement (autocommit): lock N free keys (SKIP LOCKED), insert the delivery only when all
		// N were locked (or the product has fixed content), assign the keys to it, write the event.
		const params: unknown[] = [];
		const ph = (v: unknown) => (params.push(v ?? null), `$${params.length}`);
		const n = a.row.quantity;
		const sku = ph(a.row.sku);
		const lim = ph(n);
		let pick: string;
		if (a.strategy === 'random') {
			const r = ph(randomInt(0, RAND_MAX));
			pick = `pa AS (SELECT id, rand FROM ${t.keys} WHERE sku = ${sku} AND status = 'available' AND rand >= ${r} ORDER BY rand, id LIMIT ${lim} FOR UPDATE SKIP LOCKED),
				pb AS (SELECT id, rand FROM ${t.keys} WHERE sku = ${sku} AND status = 'available' AND rand < ${r} ORDER BY rand, id LIMIT ${lim} FOR UPDATE SKIP LOCKED),
				picked AS (SELECT id FROM (SELECT id, 0 AS w, rand FROM pa UNION ALL SELECT id, 1 AS w, rand FROM pb) x ORDER BY w, rand, id LIMIT ${lim})`;
		} else {
			pick = `picked AS (SELECT id FROM ${t.keys} WHERE sku = ${sku} AND status = 'available' ORDER BY seq, id LIMIT ${lim} FOR UPDATE SKIP LOCKED)`;
		}
		const insert = fastDeliveryInsert(t, ph, a);
		const sql = `WITH ${pick},
			d AS (${insert} AND (p.fixed_content IS NOT NULL OR (SELECT count(*) FROM picked) = ${lim})
			      ON CONFLICT (order_id, sku) DO NOTHING RETURNING id, content),
			u AS (UPDATE ${t.keys} k SET status = 'assigned', delivery_id = d.id, assigned_at = ${ph(a.row.created_at)}
			      FROM d WHERE d.content IS NULL AND k.id IN (SELECT id FROM picked) RETURNING k.id, k.secret, k.seq),
			e AS (INSERT INTO ${t.events} (at, type, sku, order_id, delivery_id, count, actor, details)
			      SELECT ${ph(a.row.created_at)}, 'claimed', ${sku}, ${ph(a.row.order_id)}, d.id, ${lim}, ${ph(a.actor)},
			             CASE WHEN d.content IS NULL
			                  THEN json_build_object('keyIds', (SELECT coalesce(json_agg(id ORDER BY id), '[]'::json) FROM u), 'strategy', ${ph(a.strategy)}::text)::text
			                  ELSE '{"fixedContent":true}' END
			      FROM d)
			SELECT d.id AS delivery_id, d.content, u.id, u.secret, u.seq FROM d LEFT JOIN u ON true`;
		const conn = (await db.client.acquireConnection()) as { query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<Record<string, unknown>> }> };
		try {
			// Named: prepared once per pooled connection, so the planner runs once, not per claim.
			const name = `ad_claim_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
			const res = await conn.query({ name, text: sql, values: params });
			if (!res.rows.length) return null;
			const first = res.rows[0];
			const content = (first.content as string | null) ?? null;
			const keys = content ? [] : toClaimed(res.rows.filter((x) => x.id !== null) as Array<{ id: number; secret: string; seq: number }>);
			if (!content && keys.length !== n) throw new Error(`claim invariant broken: ${keys.length} of ${n} keys assigned`);
			return { deliveryId: num(first.delivery_id), content, keys };
		} catch (err) {
			if (postgresDialect.isTransient(err)) return null;
			throw err;
		} finally {
			await db.client.releaseConnection(conn);
		}
	},

	async bulkInsertKeys(db, t, chunks) {
		// One statement per chunk with the columns as arrays (unnest): no giant VALUES text to parse.
		type PgConn = { query(q: { name?: string; text: string; values?: unknown[] }): Promise<{ rowCount: number }> };
		const text = `INSERT INTO ${t.keys} (${KEY_COLUMNS.join(', ')})
			SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::integer[], $4::text[], $5::varchar[], $6::varchar[], $7::varchar[], $8::bigint[])
			ON CONFLICT (sku, fingerprint) DO NOTHING`;
		const name = `ad_import_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
		return pipelinedImport<PgConn>(
			chunks,
			async () => {
				const conn = (await db.client.acquireConnection()) as PgConn;
				try {
					await conn.query({ text: 'BEGIN' });
				} catch (err) {
					await db.client.releaseConnection(conn);
					throw err;
				}
				return conn;
			},
			async (conn, rows) => {
				const cols: unknown[][] = KEY_COLUMNS.map(() => []);
				for (const r of rows) {
					cols[0].push(r.sku); cols[1].push(r.seq); cols[2].push(r.rand); cols[3].push(r.secret);
					cols[4].push(r.fingerprint); cols[5].push(r.status); cols[6].push(r.batch_id); cols[7].push(r.created_at);
				}
				return (await conn.query({ name, text, values: cols })).rowCount;
			},
			async (conn) => {
				try {
					await conn.query({ text: 'COMMIT' });
				} finally {
					await db.client.releaseConnection(conn);
				}
			},
			async (conn) => {
				try {
					await conn.query({ text: 'ROLLBACK' });
				} finally {
					await db.client.releaseConnection(conn);
				}
			},
		);
	},
	isTransient(err) {
		const code = String((err as { code?: string })?.code ?? '');
		return code === '40P01' || code === '40001' || code === '55P03';
	},
};

/** Chunk insert for MySQL/MariaDB: ON DUPLICATE KEY UPDATE id = id, so affectedRows counts only new rows (FOUND_ROWS is off). */
async function mysqlInsertKeys(db: Knex.Transaction, t: TableNames, rows: NewKeyRow[]): Promise<number> {
	if (!rows.length) return 0;
	const v = valuesClause(rows as unknown as Array<Record<string, unknown>>, KEY_COLUMNS);
	const [res] = (await db.raw(
		`INSERT INTO ?? (${KEY_COLUMNS.join(', ')}) VALUES ${v.sql} ON DUPLICATE KEY UPDATE id = id`,
		[t.keys, ...v.bindings] as readonly Knex.RawBinding[],
	)) as [{ affectedRows: number }];
	return res.affectedRows;
}

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

export function dialectFor(kind: DatabaseKind): Dialect {
	return kind === 'sqlite' ? sqliteDialect : kind === 'postgres' ? postgresDialect : mysqlDialect;
}
