/**
 * Stock Alert (DESIGN §6): low / empty stock per sku against thresholds, alerting once per
 * crossing, and deliveries whose records do not match reality (claimed but never sent, sent but
 * never marked shipped).
 *
 * Alert state per sku lives in the alerts table: ok < low < empty. A check that finds a sku in a
 * worse state than recorded moves the state with a conditional update and alerts — exactly one of
 * several concurrent checks wins. A better state (restock) is recorded silently, which re-arms the
 * alert. Fixed-content products never run out and are skipped.
 */
import type { Knex } from 'knex';

import type { Actor, KeyStore } from '../store/KeyStore';
import { ValidationError } from '../errors';
import { ORDER_WIDE_SKU, orderLabel } from '../store/KeyStore';

export type StockState = 'ok' | 'low' | 'empty';
const RANK: Record<StockState, number> = { ok: 0, low: 1, empty: 2 };

export interface StockCheckItem {
	sku: string;
	name: string | null;
	available: number;
	threshold: number;
	/** Where the threshold came from. */
	thresholdSource: 'product' | 'default';
	state: StockState;
	previousState: StockState;
	/** This check crossed into low or empty: alert the seller (once per crossing). */
	alert: boolean;
	message: string;
}

export async function checkStock(
	store: KeyStore,
	opts: { defaultThreshold: number; skus?: string[] | null; reportAll?: boolean; actor?: Actor },
): Promise<StockCheckItem[]> {
	const dflt = Number(opts.defaultThreshold);
	if (!Number.isInteger(dflt) || dflt < 0) throw new ValidationError('defaultThreshold', 'The default low-stock threshold must be a whole number of at least 0.');
	const wanted = opts.skus && opts.skus.length ? new Set(opts.skus.map((s) => String(s).trim()).filter(Boolean)) : null;
	const rows = (await store.stock()).filter((r) => !r.unlimited && (!wanted || wanted.has(r.sku)));
	const states = new Map<string, StockState>();
	for (const a of (await store.db(store.t.alerts).select('sku', 'state')) as Array<{ sku: string; state: StockState }>) states.set(a.sku, a.state);

	const out: StockCheckItem[] = [];
	for (const r of rows) {
		const threshold = r.lowStockThreshold ?? dflt;
		const state: StockState = r.available === 0 ? 'empty' : r.available <= threshold ? 'low' : 'ok';
		const previous = states.get(r.sku) ?? 'ok';
		let alert = false;
		if (state !== previous) {
			alert = await moveState(store, r.sku, previous, state, r.available, async (trx) => {
				await store.event(trx, 'alert', { sku: r.sku, count: r.available, actor: opts.actor, details: { state, previousState: previous, threshold } });
			});
		}
		if (alert || opts.reportAll) {
			out.push({
				sku: r.sku,
				name: r.name,
				available: r.available,
				threshold,
				thresholdSource: r.lowStockThreshold === null ? 'default' : 'product',
				state,
				previousState: previous,
				alert,
				message:
					state === 'empty'
						? `${r.name ?? r.sku} (${r.sku}) is out of stock: 0 keys available. Orders will go to "Not Delivered" until you import keys.`
						: state === 'low'
							? `${r.name ?? r.sku} (${r.sku}) is running low: ${r.available} key(s) left (threshold ${threshold}).`
							: `${r.name ?? r.sku} (${r.sku}): ${r.available} key(s) available (threshold ${threshold}).`,
			});
		}
	}
	return out;
}

/**
 * Conditional state change from the state this check read: exactly one of several concurrent checks
 * makes it. Returns true (and records the alert event in the same transaction) when that check
 * crossed into a worse state; a better state (restock) is recorded silently, which re-arms the alert.
 */
async function moveState(store: KeyStore, sku: string, from: StockState, to: StockState, available: number, onAlert: (trx: Knex.Transaction) => Promise<void>): Promise<boolean> {
	const now = Date.now();
	return store.tx(async (trx) => {
		// A sku seen for the first time starts at 'ok'; concurrent first checks insert it once.
		if (from === 'ok') {
			if (store.kind === 'mysql') {
				await trx.raw('INSERT INTO ?? (sku, state, available, changed_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE sku = sku', [store.t.alerts, sku, 'ok', available, now]);
			} else {
				await trx(store.t.alerts).insert({ sku, state: 'ok', available, changed_at: now }).onConflict('sku').ignore();
			}
		}
		const n = Number(await trx(store.t.alerts).where({ sku, state: from }).update({ state: to, available, changed_at: now }));
		const alert = n === 1 && RANK[to] > RANK[from];
		if (alert) await onAlert(trx);
		return alert;
	});
}

// ---------------------------------------------------------------- stuck deliveries

export interface StuckDelivery {
	problem: 'not_sent' | 'not_shipped';
	deliveryId: number;
	orderId: string;
	/** null: the default shop. */
	shop: string | null;
	sku: string;
	quantity: number;
	status: string;
	createdAt: string;
	sentAt: string | null;
	/** Minutes since the claim (not_sent) or since the send (not_shipped). */
	ageMinutes: number;
	lastError: string | null;
	buyer: { id: string | null; name: string | null; email: string | null };
	message: string;
}

/**
 * Deliveries whose records do not match reality: claimed but not sent for `notSentMinutes`, and
 * sent but not marked shipped for `notShippedMinutes` (null or < 0 skips that check).
 */
export async function stuckDeliveries(
	store: KeyStore,
	opts: { notSentMinutes?: number | null; notShippedMinutes?: number | null; limit?: number },
): Promise<StuckDelivery[]> {
	const now = Date.now();
	const limit = opts.limit ?? 500;
	const out: StuckDelivery[] = [];
	const check = (field: string, v: number | null | undefined) => {
		if (v === null || v === undefined) return null;
		if (!Number.isFinite(v) || v < 0) throw new ValidationError(field, `${field} must be a number of minutes of at least 0.`);
		return v;
	};
	const notSent = check('notSentMinutes', opts.notSentMinutes);
	const notShipped = check('notShippedMinutes', opts.notShippedMinutes);
	const cols = ['id', 'order_id', 'shop', 'sku', 'quantity', 'status', 'created_at', 'sent_at', 'last_error', 'buyer_id', 'buyer_name', 'buyer_email'];
	const map = (r: Record<string, unknown>, problem: StuckDelivery['problem']): StuckDelivery => {
		const since = Number(problem === 'not_sent' ? r.created_at : r.sent_at);
		const age = Math.floor((now - since) / 60000);
		return {
			problem,
			deliveryId: Number(r.id),
			orderId: String(r.order_id),
			shop: r.shop ? String(r.shop) : null,
			sku: String(r.sku),
			quantity: Number(r.quantity),
			status: String(r.status),
			createdAt: new Date(Number(r.created_at)).toISOString(),
			sentAt: r.sent_at === null || r.sent_at === undefined ? null : new Date(Number(r.sent_at)).toISOString(),
			ageMinutes: age,
			lastError: (r.last_error as string | null) ?? null,
			buyer: { id: (r.buyer_id as string) ?? null, name: (r.buyer_name as string) ?? null, email: (r.buyer_email as string) ?? null },
			message:
				problem === 'not_sent'
					? `${orderLabel(r.shop as string | null, String(r.order_id))} / ${String(r.sku)}: keys claimed ${age} min ago but never sent to the buyer${r.last_error ? ` (last error: ${String(r.last_error)})` : ''}. Resend it or revoke it.`
					: `${orderLabel(r.shop as string | null, String(r.order_id))} / ${String(r.sku)}: sent ${age} min ago but not marked shipped on the shop${r.last_error ? ` (last error: ${String(r.last_error)})` : ''}.`,
		};
	};
	if (notSent !== null) {
		const rows = await store.db(store.t.deliveries)
			.where({ status: 'claimed' })
			.andWhere('created_at', '<=', now - notSent * 60000)
			.whereNot({ sku: ORDER_WIDE_SKU })
			.orderBy('created_at')
			.limit(limit)
			.select(cols);
		for (const r of rows) out.push(map(r, 'not_sent'));
	}
	if (notShipped !== null) {
		const rows = await store.db(store.t.deliveries)
			.where({ status: 'sent' })
			.andWhere('sent_at', '<=', now - notShipped * 60000)
			.orderBy('sent_at')
			.limit(limit)
			.select(cols);
		for (const r of rows) out.push(map(r, 'not_shipped'));
	}
	return out;
}
