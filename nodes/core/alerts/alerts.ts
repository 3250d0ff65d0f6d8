/**
 * Stock Alert (DESIGN §6): low / empty stock per sku against thresholds, alerting once per
 * crossing, and deliveries whose records do not match reality (claimed but never sent, sent but
 * never marked shipped), and order lines still waiting (out of stock, held for review, the content
 * API failing, the message failing) — whoever recorded them.
 *
 * Alert state per sku lives in the alerts table: ok < low < empty. A check that finds a sku in a
 * worse state than recorded moves the state with a conditional update and alerts — exactly one of
 * several concurrent checks wins. A better state (restock) is recorded silently, which re-arms the
 * alert. Fixed-content products never run out and are skipped.
 */
import { ValidationError } from '../errors';
import { type Actor, type KeyStore, type StalledDelivery, type StockState, type WaitingLine, type WaitingReason, orderLabel } from '../store';
import type { DeliveryLine } from '../delivery';

export type { StockState } from '../store';

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
	const states = await store.alerts.states();

	const out: StockCheckItem[] = [];
	for (const r of rows) {
		const threshold = r.lowStockThreshold ?? dflt;
		const state: StockState = r.available === 0 ? 'empty' : r.available <= threshold ? 'low' : 'ok';
		const previous = states.get(r.sku) ?? 'ok';
		let alert = false;
		if (state !== previous) {
			// Of several concurrent checks exactly one moves the state. Only a move into a worse state
			// alerts (its event in the same transaction); a better state (restock) is recorded silently,
			// which re-arms the alert.
			alert = await store.alerts.moveState(r.sku, previous, state, r.available, async (moved, tx) => {
				const worse = moved && RANK[state] > RANK[previous];
				if (worse) await tx.event('alert', { sku: r.sku, count: r.available, actor: opts.actor, details: { state, previousState: previous, threshold } });
				return worse;
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

// ---------------------------------------------------------------- stuck deliveries

export interface StuckDelivery extends DeliveryLine {
	problem: 'not_sent' | 'not_shipped';
	createdAt: string;
	sentAt: string | null;
	/** Minutes since the claim (not_sent) or since the send (not_shipped). */
	ageMinutes: number;
	lastError: string | null;
	buyer: { id: string | null; name: string | null; email: string | null };
	message: string;
}

/** An order line that could not be delivered at once and still waits (store.holdLine); nothing was delivered. */
export interface StuckWaiting {
	problem: 'waiting';
	reason: WaitingReason;
	deliveryId: number | null;
	orderId: string;
	shop: string | null;
	sku: string;
	quantity: number;
	status: 'waiting';
	createdAt: string;
	paidAt: string;
	sentAt: null;
	/** Minutes since the line started waiting. */
	ageMinutes: number;
	lastError: null;
	buyer: { id: string | null; name: string | null; email: string | null };
	message: string;
}

export type StuckLine = StuckDelivery | StuckWaiting;

const WAITING_WHY: Record<WaitingReason, string> = {
	out_of_stock: 'out of stock: import keys and the waiting lines are delivered in order of payment',
	review: 'held for review: approve or reject the order',
	api_failed: 'the content API failed, so nothing was delivered: fix the API, then run the order again (a shop retry does it; the same Idempotency-Key is sent)',
	send_failed: 'the message to the buyer failed: resend it',
};

function stuckWaiting(w: WaitingLine, now: number): StuckWaiting {
	const age = Math.floor((now - Date.parse(w.createdAt)) / 60000);
	return {
		problem: 'waiting',
		reason: w.reason,
		deliveryId: w.deliveryId,
		orderId: w.orderId,
		shop: w.shop,
		sku: w.sku,
		quantity: w.quantity,
		status: 'waiting',
		createdAt: w.createdAt,
		paidAt: w.paidAt,
		sentAt: null,
		ageMinutes: age,
		lastError: null,
		buyer: { id: w.buyer.id, name: w.buyer.name, email: w.buyer.email },
		message: `${orderLabel(w.shop, w.orderId)} / ${w.sku} × ${w.quantity}: waiting for ${age} min (${w.reason}) — ${WAITING_WHY[w.reason] ?? 'see the order'}.`,
	};
}

/**
 * Deliveries whose records do not match reality: claimed but not sent for `notSentMinutes`, and
 * sent but not marked shipped for `notShippedMinutes`; and order lines waiting (any reason) for
 * `waitingMinutes` (default: `notSentMinutes`). null skips a check.
 */
export async function stuckDeliveries(
	store: KeyStore,
	opts: { notSentMinutes?: number | null; notShippedMinutes?: number | null; waitingMinutes?: number | null; limit?: number },
): Promise<StuckLine[]> {
	const now = Date.now();
	const limit = opts.limit ?? 500;
	const out: StuckLine[] = [];
	const check = (field: string, v: number | null | undefined) => {
		if (v === null || v === undefined) return null;
		if (!Number.isFinite(v) || v < 0) throw new ValidationError(field, `${field} must be a number of minutes of at least 0.`);
		return v;
	};
	const notSent = check('notSentMinutes', opts.notSentMinutes);
	const notShipped = check('notShippedMinutes', opts.notShippedMinutes);
	const waiting = check('waitingMinutes', opts.waitingMinutes === undefined ? opts.notSentMinutes : opts.waitingMinutes);
	const map = (r: StalledDelivery, problem: StuckDelivery['problem']): StuckDelivery => {
		const since = Number(problem === 'not_sent' ? r.createdAt : r.sentAt);
		const age = Math.floor((now - since) / 60000);
		return {
			problem,
			deliveryId: r.id,
			orderId: r.orderId,
			shop: r.shop,
			sku: r.sku,
			quantity: r.quantity,
			status: r.status,
			createdAt: new Date(r.createdAt).toISOString(),
			sentAt: r.sentAt === null ? null : new Date(r.sentAt).toISOString(),
			ageMinutes: age,
			lastError: r.lastError,
			buyer: r.buyer,
			message:
				problem === 'not_sent'
					? `${orderLabel(r.shop, r.orderId)} / ${r.sku}: keys claimed ${age} min ago but never sent to the buyer${r.lastError ? ` (last error: ${r.lastError})` : ''}. Resend it or revoke it.`
					: `${orderLabel(r.shop, r.orderId)} / ${r.sku}: sent ${age} min ago but not marked shipped on the shop${r.lastError ? ` (last error: ${r.lastError})` : ''}.`,
		};
	};
	if (notSent !== null) {
		for (const r of await store.alerts.stalled('not_sent', now - notSent * 60000, limit)) out.push(map(r, 'not_sent'));
	}
	if (notShipped !== null) {
		for (const r of await store.alerts.stalled('not_shipped', now - notShipped * 60000, limit)) out.push(map(r, 'not_shipped'));
	}
	if (waiting !== null) {
		for (const w of await store.listWaiting({ olderThan: now - waiting * 60000 + 1, limit })) out.push(stuckWaiting(w, now));
	}
	return out;
}
