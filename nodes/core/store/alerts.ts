/** Stock Alert's tables: the alert state per sku, and the deliveries whose records stall (claimed not sent, sent not shipped). */
import type { StoreContext } from './context';
import type { EventFields } from './events';
import { ORDER_WIDE_SKU } from './types';

export type StockState = 'ok' | 'low' | 'empty';

/** What Stock Alert may do inside the transaction that moved an alert state. */
export interface AlertTx {
	/** Appends an audit event in this transaction. */
	event(type: string, fields: EventFields): Promise<void>;
}

/** A delivery found stalled, as stored (times in ms). */
export interface StalledDelivery {
	id: number;
	orderId: string;
	/** null: the default shop. */
	shop: string | null;
	sku: string;
	quantity: number;
	status: string;
	createdAt: number;
	sentAt: number | null;
	lastError: string | null;
	buyer: { id: string | null; name: string | null; email: string | null };
}

export interface AlertStore {
	/** The recorded alert state of every sku that has one. */
	states(): Promise<Map<string, StockState>>;
	/**
	 * Conditional state change from the state the caller read (`from`) to `to`: of several concurrent
	 * checks exactly one makes it. `then` runs in the same transaction, told whether this call moved the state.
	 */
	moveState<T>(sku: string, from: StockState, to: StockState, available: number, then: (moved: boolean, tx: AlertTx) => Promise<T>): Promise<T>;
	/**
	 * not_sent: deliveries still claimed, claimed at or before `before` (order-wide tombstones left out),
	 * oldest first; not_shipped: deliveries still sent, sent at or before `before`, oldest send first.
	 */
	stalled(problem: 'not_sent' | 'not_shipped', before: number, limit: number): Promise<StalledDelivery[]>;
}

const STALLED_COLUMNS = ['id', 'order_id', 'shop', 'sku', 'quantity', 'status', 'created_at', 'sent_at', 'last_error', 'buyer_id', 'buyer_name', 'buyer_email'];

export function alertStore(ctx: StoreContext): AlertStore {
	return {
		async states() {
			const states = new Map<string, StockState>();
			for (const a of (await ctx.db(ctx.t.alerts).select('sku', 'state')) as Array<{ sku: string; state: StockState }>) states.set(a.sku, a.state);
			return states;
		},
		moveState: (sku, from, to, available, then) => moveState(ctx, sku, from, to, available, then),
		async stalled(problem, before, limit) {
			const since = problem === 'not_sent' ? 'created_at' : 'sent_at';
			const q = ctx.db(ctx.t.deliveries)
				.where({ status: problem === 'not_sent' ? 'claimed' : 'sent' })
				.andWhere(since, '<=', before);
			if (problem === 'not_sent') q.whereNot({ sku: ORDER_WIDE_SKU });
			const rows = (await q.orderBy(since).limit(limit).select(STALLED_COLUMNS)) as Array<Record<string, unknown>>;
			return rows.map(mapStalled);
		},
	};
}

async function moveState<T>(
	ctx: StoreContext,
	sku: string,
	from: StockState,
	to: StockState,
	available: number,
	then: (moved: boolean, tx: AlertTx) => Promise<T>,
): Promise<T> {
	const now = Date.now();
	return ctx.tx(async (trx) => {
		// A sku seen for the first time starts at 'ok'; concurrent first checks insert it once.
		if (from === 'ok') {
			if (ctx.kind === 'mysql') {
				await trx.raw('INSERT INTO ?? (sku, state, available, changed_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE sku = sku', [ctx.t.alerts, sku, 'ok', available, now]);
			} else {
				await trx(ctx.t.alerts).insert({ sku, state: 'ok', available, changed_at: now }).onConflict('sku').ignore();
			}
		}
		const n = Number(await trx(ctx.t.alerts).where({ sku, state: from }).update({ state: to, available, changed_at: now }));
		return then(n === 1, { event: (type, fields) => ctx.event(trx, type, fields) });
	});
}

function mapStalled(r: Record<string, unknown>): StalledDelivery {
	return {
		id: Number(r.id),
		orderId: String(r.order_id),
		shop: r.shop ? String(r.shop) : null,
		sku: String(r.sku),
		quantity: Number(r.quantity),
		status: String(r.status),
		createdAt: Number(r.created_at),
		sentAt: r.sent_at === null || r.sent_at === undefined ? null : Number(r.sent_at),
		lastError: (r.last_error as string | null) ?? null,
		buyer: { id: (r.buyer_id as string) ?? null, name: (r.buyer_name as string) ?? null, email: (r.buyer_email as string) ?? null },
	};
}
