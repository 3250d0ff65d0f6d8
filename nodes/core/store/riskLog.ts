/** Risk Check's tables: the risk log (one decision per order line), the per-subject lock rows and the blocklist. */
import type { Knex } from 'knex';

import type { StoreContext } from './context';
import type { EventFields } from './events';
import type { Actor } from './types';

export type BlockKind = 'buyer' | 'email' | 'ip';
export type RiskDecision = 'pass' | 'review' | 'reject';

/** A reason as recorded with a decision (Risk Check's RiskReason). */
export interface RiskLogReason {
	rule: string;
	action: string;
	message: string;
}

/** An order line's identity in the risk log: line '' is the whole order, shop '' the default shop. */
export interface RiskLine {
	shop: string;
	orderId: string;
	line: string;
}

/** The decision recorded for an order line. */
export interface RecordedDecision {
	decision: RiskDecision;
	reasons: RiskLogReason[];
	/** When the seller approved the held line (Approve Held Order); null: not approved. */
	approvedAt: number | null;
}

/** A risk-log row in full: the decision and the order line as it was evaluated. */
export interface RiskLogEntry extends RecordedDecision {
	quantity: number | null;
	amount: number | null;
	buyer: { id: string | null; name: string | null; email: string | null; ip: string | null };
}

/** A decision to record for the line. */
export interface NewRiskDecision {
	at: number;
	buyerId: string | null;
	email: string | null;
	ip: string | null;
	buyerName: string | null;
	quantity: number | null;
	amount: number | null;
	decision: RiskDecision;
	reasons: RiskLogReason[];
}

export interface BlockHit {
	kind: BlockKind;
	value: string;
	reason: string | null;
}

export interface BlockEntry extends BlockHit {
	createdAt: string;
}

/** What Risk Check may do with one order line inside its transaction (never a raw database handle). */
export interface RiskTx {
	/** The decision recorded for this line, if it was evaluated before. */
	recorded(): Promise<RecordedDecision | undefined>;
	/** This line's risk-log row, locked until the transaction ends (FOR UPDATE on PostgreSQL / MySQL; SQLite holds the write lock). */
	lockEntry(): Promise<RiskLogEntry | undefined>;
	/**
	 * Holds the lock row of one subject (buyer id, email or IP) until the transaction ends, creating it
	 * first if needed. SQLite: the transaction already holds the database's write lock (BEGIN IMMEDIATE).
	 */
	lockSubject(kind: BlockKind, value: string): Promise<void>;
	/** Blocklist entries for any of these subjects. */
	blocklistHits(subjects: ReadonlyArray<{ kind: BlockKind; value: string }>): Promise<BlockHit[]>;
	/** Distinct orders (shop, order id) logged for this subject since `since` and not rejected, this line's order left out. */
	ordersSince(kind: BlockKind, value: string, since: number): Promise<number>;
	/**
	 * Records the decision for this line. The unique (shop, order_id, line) key keeps it to one: when
	 * another evaluation recorded it first, the whole transaction runs again.
	 */
	record(entry: NewRiskDecision): Promise<void>;
	/** Marks this line approved at `at`. */
	approve(at: number): Promise<void>;
	/** Appends an audit event in this transaction. */
	event(type: string, fields: EventFields): Promise<void>;
}

export interface RiskStore {
	/** Runs fn in one transaction about this order line; fn may run more than once (deadlock, busy, same-line race). */
	transaction<T>(line: RiskLine, fn: (h: RiskTx) => Promise<T>): Promise<T>;
	/** Adds a blocklist entry, or updates its reason (a null reason keeps the one recorded). */
	block(entry: { kind: BlockKind; value: string; reason: string | null; actor?: Actor }): Promise<BlockEntry & { added: boolean }>;
	/** Removes a blocklist entry; true when there was one. */
	unblock(entry: { kind: BlockKind; value: string; actor?: Actor }): Promise<boolean>;
	/** Blocklist entries in the order they were added. */
	blocklist(query: { kind: BlockKind | null; limit: number }): Promise<BlockEntry[]>;
}

/** Another evaluation of the same order line (or another add of the same blocklist entry) committed first: run again. */
class SameLineRace extends Error {}

const SUBJECT_COLUMN: Record<BlockKind, string> = { buyer: 'buyer_id', email: 'buyer_email', ip: 'buyer_ip' };

export function riskStore(ctx: StoreContext): RiskStore {
	return {
		transaction: (line, fn) => ctx.tx((trx) => fn(riskTx(ctx, trx, line)), SameLineRace),
		block: (entry) => block(ctx, entry),
		unblock: (entry) => unblock(ctx, entry),
		blocklist: async ({ kind, limit }) => {
			const q = ctx.db(ctx.t.blocklist).orderBy('id').limit(limit);
			if (kind) q.where({ kind });
			return ((await q) as Array<Record<string, unknown>>).map(mapBlock);
		},
	};
}

function riskTx(ctx: StoreContext, trx: Knex.Transaction, { shop, orderId, line }: RiskLine): RiskTx {
	const t = ctx.t;
	const thisLine = () => trx(t.riskLog).where({ shop, order_id: orderId, line });
	return {
		async recorded() {
			const row = (await thisLine().first('decision', 'reasons', 'approved_at')) as Record<string, unknown> | undefined;
			return row ? mapRecorded(row) : undefined;
		},
		async lockEntry() {
			const q = thisLine();
			if (ctx.kind !== 'sqlite') q.forUpdate();
			const row = (await q.first()) as Record<string, unknown> | undefined;
			if (!row) return undefined;
			return {
				...mapRecorded(row),
				quantity: row.quantity === null || row.quantity === undefined ? null : Number(row.quantity),
				amount: row.amount === null || row.amount === undefined ? null : Number(row.amount),
				buyer: {
					id: (row.buyer_id as string | null) ?? null,
					name: (row.buyer_name as string | null) ?? null,
					email: (row.buyer_email as string | null) ?? null,
					ip: (row.buyer_ip as string | null) ?? null,
				},
			};
		},
		async lockSubject(kind, value) {
			if (ctx.kind === 'mysql') {
				await trx.raw('INSERT INTO ?? (kind, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE kind = kind', [t.riskLocks, kind, value]);
			} else {
				await trx(t.riskLocks).insert({ kind, value }).onConflict(['kind', 'value']).ignore();
			}
			// SQLite: the transaction already holds the database's write lock (BEGIN IMMEDIATE).
			if (ctx.kind !== 'sqlite') await trx(t.riskLocks).where({ kind, value }).forUpdate().first();
		},
		async blocklistHits(subjects) {
			const q = trx(t.blocklist).select('kind', 'value', 'reason');
			q.where((b) => {
				for (const s of subjects) b.orWhere((w) => w.where({ kind: s.kind, value: s.value }));
			});
			return (await q) as BlockHit[];
		},
		async ordersSince(kind, value, since) {
			const orders = trx(t.riskLog)
				.distinct('shop', 'order_id')
				.where(SUBJECT_COLUMN[kind], value)
				.andWhere('at', '>=', since)
				.whereNot('decision', 'reject')
				.whereNot((w) => w.where({ shop, order_id: orderId }));
			const row = await trx.count({ c: '*' }).from(orders.as('o')).first();
			return Number(row?.c ?? 0);
		},
		async record(entry) {
			await insertOnce(trx(t.riskLog), {
				at: entry.at,
				order_id: orderId,
				line,
				buyer_id: entry.buyerId,
				buyer_email: entry.email,
				buyer_ip: entry.ip,
				buyer_name: entry.buyerName,
				shop,
				quantity: entry.quantity,
				amount: entry.amount,
				decision: entry.decision,
				reasons: entry.reasons.length ? JSON.stringify(entry.reasons) : null,
			});
		},
		async approve(at) {
			await thisLine().update({ approved_at: at });
		},
		event: (type, fields) => ctx.event(trx, type, fields),
	};
}

function mapRecorded(row: Record<string, unknown>): RecordedDecision {
	return {
		decision: row.decision as RiskDecision,
		reasons: row.reasons ? (JSON.parse(String(row.reasons)) as RiskLogReason[]) : [],
		approvedAt: row.approved_at === null || row.approved_at === undefined ? null : Number(row.approved_at),
	};
}

// ---------------------------------------------------------------- blocklist

async function block(ctx: StoreContext, input: { kind: BlockKind; value: string; reason: string | null; actor?: Actor }): Promise<BlockEntry & { added: boolean }> {
	const { kind, value, reason } = input;
	const now = Date.now();
	let added = false;
	await ctx.tx(async (trx) => {
		added = false;
		const existing = await trx(ctx.t.blocklist).where({ kind, value }).first('id');
		if (existing) {
			if (reason !== null) await trx(ctx.t.blocklist).where({ kind, value }).update({ reason });
		} else {
			// Two concurrent adds of one value: the loser runs again and finds the entry.
			await insertOnce(trx(ctx.t.blocklist), { kind, value, reason, created_at: now });
			added = true;
		}
		await ctx.event(trx, 'blocklisted', { actor: input.actor, details: { kind, added } });
	}, SameLineRace);
	const row = await ctx.db(ctx.t.blocklist).where({ kind, value }).first();
	return { ...mapBlock(row), added };
}

async function unblock(ctx: StoreContext, input: { kind: BlockKind; value: string; actor?: Actor }): Promise<boolean> {
	const { kind, value } = input;
	let removed = 0;
	await ctx.tx(async (trx) => {
		removed = Number(await trx(ctx.t.blocklist).where({ kind, value }).delete());
		await ctx.event(trx, 'unblocklisted', { actor: input.actor, details: { kind, removed: removed > 0 } });
	});
	return removed > 0;
}

function mapBlock(r: Record<string, unknown>): BlockEntry {
	return { kind: r.kind as BlockKind, value: String(r.value), reason: (r.reason as string | null) ?? null, createdAt: new Date(Number(r.created_at)).toISOString() };
}

function isUniqueViolation(err: unknown): boolean {
	const e = err as { code?: string; errno?: number; message?: string };
	return e?.code === '23505' || e?.errno === 1062 || (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(String(e?.message)));
}

async function insertOnce(q: Knex.QueryBuilder, row: Record<string, unknown>): Promise<void> {
	try {
		await q.insert(row);
	} catch (err) {
		if (isUniqueViolation(err)) throw new SameLineRace();
		throw err;
	}
}
