/**
 * PostgreSQL (DESIGN §4): claims pick with FOR UPDATE SKIP LOCKED; the one-shot claim is one
 * statement (data-modifying CTEs, prepared per connection); bulk imports run on parallel
 * connections (PgImportLane), each part sent as column arrays.
 */
import { createHash, randomInt } from 'crypto';
import type { Knex } from 'knex';

import type { TableNames } from '../schema';
import { KEY_COLUMNS, claimWithSkipLocked, insertDelivery, num, toClaimed } from './common';
import { type Dialect, type FastClaimArgs, IMPORT_COMMIT_ROWS, type NewKeyRow, RAND_MAX } from './types';

/**
 * The fixed-content-aware INSERT … SELECT of a new delivery, refusing order-wide tombstones and
 * External API products (their content never comes from the pool: the careful path answers them).
 */
function fastDeliveryInsert(t: TableNames, ph: (v: unknown) => string, a: FastClaimArgs): string {
	const r = a.row;
	return `INSERT INTO ${t.deliveries} (order_id, sku, quantity, status, strategy, content, buyer_id, buyer_name, buyer_email, buyer_ip, amount, shop, created_at, updated_at)
		SELECT ${ph(r.order_id)}, p.sku, ${ph(r.quantity)}, 'claimed', CASE WHEN p.fixed_content IS NULL THEN ${ph(a.strategy)} ELSE NULL END, p.fixed_content,
		       ${ph(r.buyer_id)}, ${ph(r.buyer_name)}, ${ph(r.buyer_email)}, ${ph(r.buyer_ip)}, ${ph(r.amount)}, ${ph(r.shop)}, ${ph(r.created_at)}, ${ph(r.updated_at)}
		FROM ${t.products} p
		WHERE p.sku = ${ph(r.sku)} AND p.kind <> 'api'
		  AND NOT EXISTS (SELECT 1 FROM ${t.deliveries} w WHERE w.shop = ${ph(r.shop)} AND w.order_id = ${ph(r.order_id)} AND w.sku = '*' AND w.status = 'revoked')`;
}

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
		const res = (await insertDelivery(trx, t, row, 'ON CONFLICT (shop, order_id, sku) DO NOTHING RETURNING id')) as { rows: Array<{ id: number }> };
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
