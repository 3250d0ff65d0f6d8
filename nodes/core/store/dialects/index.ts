/**
 * Claim SQL per database (DESIGN §4). Each dialect knows how to
 *  - insert a delivery unless one exists for (shop, order_id, sku) — the idempotency latch,
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
import { AVAILABLE, type TableNames, sqliteClaimView } from '../schema';
import { mysqlPick } from './mysqlPick';

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
		const row = await trx(t.keys).where({ sku: args.sku }).whereRaw(AVAILABLE).count({ c: '*' }).first();
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
		  AND NOT EXISTS (SELECT 1 FROM ${t.deliveries} w WHERE w.shop = ${ph(r.shop)} AND w.order_id = ${ph(r.order_id)} AND w.sku = '*' AND w.status = 'revoked')`;
}

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
		const v = deliveryValues(row);
		const rows = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (shop, order_id, sku) DO NOTHING RETURNING id`,
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

/** PostgreSQL import: parallel connections (the server inserts and maintains indexes on several cores). */
const PG_IMPORT_LANES = 2;

type Named = { name: string; text: string };

interface PgImportSql {
	/** Without ON CONFLICT: no speculative insertion per row (cheaper); fails on any duplicate. */
	plain: Named;
	upsert: Named;
	/** The same with the columns every row of an import shares (sku, status, batch, time) bound once. */
	narrowPlain: Named;
	narrowUpsert: Named;
}

function pgImportSql(t: TableNames): PgImportSql {
	// One statement per part with the columns as arrays (unnest): no giant VALUES text to parse.
	const wide = `INSERT INTO ${t.keys} (${KEY_COLUMNS.join(', ')})
			SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::integer[], $4::text[], $5::varchar[], $6::varchar[], $7::varchar[], $8::bigint[])`;
	const narrow = `INSERT INTO ${t.keys} (${KEY_COLUMNS.join(', ')})
			SELECT $1::varchar, u.seq, u.rand, u.secret, u.fingerprint, $2::varchar, $3::varchar, $4::bigint
			FROM unnest($5::bigint[], $6::integer[], $7::text[], $8::varchar[]) AS u (seq, rand, secret, fingerprint)`;
	const onConflict = `
			ON CONFLICT (sku, fingerprint) DO NOTHING`;
	// Named: prepared once per connection.
	const named = (text: string) => ({ name: `ad_import_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text });
	return { plain: named(wide), upsert: named(wide + onConflict), narrowPlain: named(narrow), narrowUpsert: named(narrow + onConflict) };
}

/** Characters that never need quoting in a PostgreSQL array literal element (base64, base64url, '.', digits). */
const PG_BARE_ELEMENT = /[^A-Za-z0-9+/=_.,-]/;

/**
 * The PostgreSQL array literal `{a,b,c}` of values that need no quoting — sealed secrets (`v1.` +
 * base64), fingerprints (base64url), safe integers — built with one join instead of pg's per-element
 * escaping; null when any value does not qualify (then pg serialises the array itself).
 */
function bareArrayLiteral(values: Array<string | number>): string | null {
	if (!values.length) return '{}';
	if (typeof values[0] === 'number') {
		for (const v of values) if (!Number.isSafeInteger(v)) return null;
		return `{${values.join(',')}}`;
	}
	for (const v of values) if (typeof v !== 'string' || v.length < 5) return null; // never empty, never NULL
	const body = values.join(',');
	return PG_BARE_ELEMENT.test(body) ? null : `{${body}}`;
}

/**
 * Splits a chunk into one part per lane by fingerprint (its first character: the 64 base64url
 * characters split evenly by parity; the last one would not, it carries only 2 bits), dropping repeats of a fingerprint within the chunk (they count as
 * duplicates, like ON CONFLICT DO NOTHING would: the first one goes in).
 */
function splitByFingerprint(rows: NewKeyRow[], lanes: number): NewKeyRow[][] {
	const parts: NewKeyRow[][] = Array.from({ length: lanes }, () => []);
	const seen = new Set<string>();
	for (const r of rows) {
		if (seen.has(r.fingerprint)) continue;
		seen.add(r.fingerprint);
		parts[lanes === 1 ? 0 : r.fingerprint.charCodeAt(0) % lanes].push(r);
	}
	return parts;
}

type PgConn = { query(q: { name?: string; text: string; values?: unknown[] }): Promise<{ rowCount: number | null }> };

/**
 * A lane that has nothing to insert commits after this long. Its uncommitted rows may be what
 * another import waits for; that import may in turn hold rows this import's other lane waits for,
 * while this import waits for that lane — a cycle through JavaScript that PostgreSQL's deadlock
 * detector cannot see. An idle lane never holds rows for long, so such a wait always ends.
 */
const PG_IMPORT_IDLE_COMMIT_MS = 250;

/**
 * One import connection, held for the whole import. Parts go in under a savepoint, in transactions
 * of about IMPORT_COMMIT_ROWS / lanes rows (and committed early when the lane is idle, see
 * PG_IMPORT_IDLE_COMMIT_MS). The INSERT of a part is sent the moment the part is handed over
 * (sealing the next chunk keeps the event loop busy, so nothing may wait for a turn of it before
 * the server has work); the savepoint for the next part and the commits ride on single round trips
 * right after each insert.
 *
 * Optimistic first: a plain INSERT (fresh keys, the common case, skips PostgreSQL's speculative
 * insertion per row). The first unique violation (a key already in the store, or committed by
 * another import meanwhile) rolls the part back to its savepoint and this lane uses
 * ON CONFLICT DO NOTHING from then on. A deadlock or lock timeout (another import of the same keys
 * in another order) rolls the part back, commits what is in (holding no lock breaks the cycle) and
 * runs the part again.
 */
class PgImportLane {
	private conn: PgConn | null = null;
	/** Open transaction with the savepoint for the next part established. */
	private ready = false;
	private inGroup = 0;
	private optimistic = true;
	private idleTimer: ReturnType<typeof setTimeout> | null = null;
	/** An idle commit in flight (or failed: its error surfaces at the next step). */
	private idleCommit: Promise<void> | null = null;

	constructor(
		private readonly db: Knex,
		private readonly sql: PgImportSql,
		private readonly commitRows = Math.ceil(IMPORT_COMMIT_ROWS / PG_IMPORT_LANES),
	) {}

	private async open(): Promise<PgConn> {
		await this.settleIdleCommit();
		if (!this.conn) this.conn = (await this.db.client.acquireConnection()) as PgConn;
		if (!this.ready) {
			await this.conn.query({ text: 'BEGIN; SAVEPOINT ad_import_part' });
			this.ready = true;
			this.inGroup = 0;
		}
		return this.conn;
	}

	private armIdleCommit(): void {
		this.idleTimer = setTimeout(() => {
			this.idleTimer = null;
			if (!this.conn || !this.ready) return;
			this.ready = false;
			const p = this.conn.query({ text: 'COMMIT' }).then(() => {
				if (this.idleCommit === p) this.idleCommit = null;
			});
			p.catch(() => undefined); // surfaces in settleIdleCommit()
			this.idleCommit = p;
		}, PG_IMPORT_IDLE_COMMIT_MS);
		this.idleTimer.unref?.();
	}

	private async settleIdleCommit(): Promise<void> {
		if (this.idleTimer) {
			clearTimeout(this.idleTimer);
			this.idleTimer = null;
		}
		const p = this.idleCommit;
		this.idleCommit = null;
		if (p) await p;
	}

	private send(rows: NewKeyRow[]): Promise<{ rowCount: number | null }> {
		const r0 = rows[0];
		const shared = rows.every((r) => r.sku === r0.sku && r.status === r0.status && r.batch_id === r0.batch_id && r.created_at === r0.created_at);
		if (shared) {
			const seq: number[] = [];
			const rand: number[] = [];
			const secret: string[] = [];
			const fp: string[] = [];
			for (const r of rows) {
				seq.push(r.seq); rand.push(r.rand); secret.push(r.secret); fp.push(r.fingerprint);
			}
			const arrays = [seq, rand, secret, fp].map((a) => bareArrayLiteral(a) ?? a);
			return (this.conn as PgConn).query({
				...(this.optimistic ? this.sql.narrowPlain : this.sql.narrowUpsert),
				values: [r0.sku, r0.status, r0.batch_id, r0.created_at, ...arrays],
			});
		}
		const cols: unknown[][] = KEY_COLUMNS.map(() => []);
		for (const r of rows) {
			cols[0].push(r.sku); cols[1].push(r.seq); cols[2].push(r.rand); cols[3].push(r.secret);
			cols[4].push(r.fingerprint); cols[5].push(r.status); cols[6].push(r.batch_id); cols[7].push(r.created_at);
		}
		return (this.conn as PgConn).query({ ...(this.optimistic ? this.sql.plain : this.sql.upsert), values: cols });
	}

	/** Call only when the previous insert of this lane has settled. */
	insert(rows: NewKeyRow[]): Promise<number> {
		if (this.idleTimer) {
			clearTimeout(this.idleTimer);
			this.idleTimer = null;
		}
		// Dispatched synchronously when the lane is ready (it is, unless it just committed).
		const first = this.conn && this.ready && !this.idleCommit ? this.send(rows) : null;
		if (first) first.catch(() => undefined); // handled below
		return this.finish(rows, first);
	}

	private async finish(rows: NewKeyRow[], first: Promise<{ rowCount: number | null }> | null): Promise<number> {
		let pending = first;
		for (let attempt = 1; ; attempt++) {
			let res: { rowCount: number | null };
			try {
				if (!pending) {
					await this.open();
					pending = this.send(rows);
				}
				res = await pending;
			} catch (err) {
				pending = null;
				if (!this.ready) throw err; // BEGIN or the connection failed
				const duplicate = String((err as { code?: string })?.code ?? '') === '23505' && this.optimistic;
				const transient = postgresDialect.isTransient(err) && attempt < 12;
				if (!duplicate && !transient) throw err;
				// the savepoint stays established after ROLLBACK TO
				await (this.conn as PgConn).query({ text: 'ROLLBACK TO SAVEPOINT ad_import_part' });
				if (duplicate) {
					this.optimistic = false;
				} else {
					await this.commit();
					await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt) + randomInt(0, 50)));
				}
				continue;
			}
			this.inGroup += rows.length;
			const conn = this.conn as PgConn;
			if (this.inGroup >= this.commitRows) {
				this.ready = false;
				await conn.query({ text: 'COMMIT; BEGIN; SAVEPOINT ad_import_part' });
				this.ready = true;
				this.inGroup = 0;
			} else {
				await conn.query({ text: 'RELEASE SAVEPOINT ad_import_part; SAVEPOINT ad_import_part' });
			}
			this.armIdleCommit();
			return res.rowCount ?? 0;
		}
	}

	/** Commits the open transaction (if any); the connection stays with the lane. */
	async commit(): Promise<void> {
		await this.settleIdleCommit();
		if (!this.conn || !this.ready) return;
		this.ready = false;
		await this.conn.query({ text: 'COMMIT' });
	}

	/** Commits what is in and gives the connection back. */
	async close(): Promise<void> {
		try {
			await this.commit();
		} catch (err) {
			await this.abort();
			throw err;
		}
		await this.release();
	}

	/** Rolls back whatever may be open (also a half-opened transaction) and gives the connection back. */
	async abort(): Promise<void> {
		await this.settleIdleCommit().catch(() => undefined);
		this.ready = false;
		if (this.conn) await this.conn.query({ text: 'ROLLBACK' }).catch(() => undefined);
		await this.release();
	}

	private async release(): Promise<void> {
		const conn = this.conn;
		this.conn = null;
		this.ready = false;
		if (conn) await this.db.client.releaseConnection(conn);
	}
}

export const postgresDialect: Dialect = {
	kind: 'postgres',
	txConfig: { isolationLevel: 'read committed' },
	insertChunk: 5000,
	async insertDeliveryIgnore(trx, t, row) {
		const v = deliveryValues(row);
		const res = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON CONFLICT (shop, order_id, sku) DO NOTHING RETURNING id`,
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
			      ON CONFLICT (shop, order_id, sku) DO NOTHING RETURNING id, content),
			u AS (UPDATE ${t.keys} k SET status = 'assigned', delivery_id = d.id, assigned_at = ${ph(a.row.created_at)}
			      FROM d WHERE d.content IS NULL AND k.id IN (SELECT id FROM picked) RETURNING k.id, k.secret, k.seq),
			e AS (INSERT INTO ${t.events} (at, type, sku, order_id, shop, delivery_id, count, actor, details)
			      SELECT ${ph(a.row.created_at)}, 'claimed', ${sku}, ${ph(a.row.order_id)}, ${ph(a.row.shop)}, d.id, ${lim}, ${ph(a.actor)},
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
		// Every chunk is split by fingerprint into one part per lane (connection); the lanes insert their
		// parts in parallel, each in its own transactions. A fingerprint always goes to the same lane,
		// so parallel transactions of one import never wait on each other's uncommitted rows, and a
		// duplicate within the input meets its twin in the same transaction (skipped, counted).
		// An import of one chunk (the usual manual import) uses one lane: its key ids follow the input
		// order exactly. With several lanes, ids follow the input order per lane; seq always does.
		const it = chunks[Symbol.asyncIterator]();
		const nextChunk = async () => {
			for (;;) {
				const r = await it.next();
				if (r.done) return null;
				if (r.value.length) return r.value;
			}
		};
		const head = [await nextChunk(), null as NewKeyRow[] | null];
		if (!head[0]) return 0;
		head[1] = await nextChunk();
		const poolMax = Number((db.client as unknown as { pool?: { max?: number } }).pool?.max ?? 1);
		// more than one chunk, and leave claims a connection
		const laneCount = head[1] && poolMax >= PG_IMPORT_LANES + 1 ? PG_IMPORT_LANES : 1;
		async function* all(): AsyncGenerator<NewKeyRow[]> {
			for (const c of head) if (c) yield c;
			for (let c = await nextChunk(); c; c = await nextChunk()) yield c;
		}
		const sql = pgImportSql(t);
		const lanes = Array.from({ length: laneCount }, () => new PgImportLane(db, sql));
		let inserted = 0;
		let inflight: Promise<Array<PromiseSettledResult<number>>> | null = null;
		const settle = async () => {
			if (!inflight) return;
			const p = inflight;
			inflight = null;
			for (const r of await p) {
				if (r.status === 'rejected') throw r.reason;
				inserted += r.value;
			}
		};
		try {
			for await (const rows of all()) {
				const parts = splitByFingerprint(rows, laneCount);
				await settle(); // one insert in flight per lane while the next chunk is sealed
				inflight = Promise.allSettled(parts.map((part, i) => (part.length ? lanes[i].insert(part) : Promise.resolve(0))));
			}
			await settle();
			for (const lane of lanes) await lane.close();
			return inserted;
		} catch (err) {
			if (inflight) await (inflight as Promise<unknown>).catch(() => undefined);
			for (const lane of lanes) await lane.abort();
			throw err;
		}
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
		// ON DUPLICATE KEY UPDATE id = id: 0 rows affected when the (shop, order_id, sku) latch exists.
		// (INSERT IGNORE would also swallow truncation errors.)
		const [res] = (await trx.raw(
			`INSERT INTO ?? (${DELIVERY_COLUMNS.join(', ')}) VALUES ${v.sql} ON DUPLICATE KEY UPDATE id = id`,
			[t.deliveries, ...v.bindings] as readonly Knex.RawBinding[],
		)) as [{ affectedRows: number; insertId: number }];
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

export function dialectFor(kind: DatabaseKind): Dialect {
	return kind === 'sqlite' ? sqliteDialect : kind === 'postgres' ? postgresDialect : mysqlDialect;
}
