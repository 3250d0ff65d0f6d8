/**
 * External API products, the use cases (externalApi.ts holds the config and the calls):
 *
 * - `claimLine` (Claim Key): an order line of any product. For an External API product: a recorded
 *   delivery is replayed without calling the API; a refund tombstone answers `revoked`; otherwise
 *   the seller's endpoint is called (outside any transaction) and its content recorded exactly like
 *   a claim (store.recordApiDelivery: sealed, unique per order line, the `claimed` event without the
 *   content). Two runs of one order line at once both call with the same Idempotency-Key, and the
 *   one recorded second gets the delivery recorded first. A failing API holds the line (waiting,
 *   reason `api_failed`, listed by Stock Alert) and answers `api_failed`: never an empty delivery.
 * - `revokeLines` (Revoke on Refund): the store revokes first (that is what counts); then, for
 *   External API deliveries whose product has a revoke call, that call is made and its outcome
 *   reported. A failing call does not undo the revoke.
 */
import { ValidationError } from '../errors';
import type { ClaimInput, ClaimResult, KeyStore, RevokeInput, RevokeResult } from '../store';
import { type DeliveredItem, type NotDeliveredItem, claimOrHoldOutput, claimOutput } from './output';
import { type ApiCallOptions, type ApiOrder, ExternalApiError, callRevokeApi, fetchApiContent, parseApiConfig, usesContent } from './externalApi';

export interface ClaimLineInput extends ClaimInput {
	/** When the buyer paid (ISO text or epoch ms): `{date}` of the API body, and the waiting line's order. */
	paidAt?: string | number | Date | null;
}

/** Claims an order line: pool keys or fixed content by the store, External API content through the seller's endpoint. */
export async function claimLine(store: KeyStore, input: ClaimLineInput, opts: ApiCallOptions = {}): Promise<ClaimResult> {
	const first = await store.claim(input);
	if (first.delivered || first.reason !== 'external_api') return first;
	const { orderId, shop, sku, quantity } = first;
	const product = await store.getApiConfig(sku);
	const order: ApiOrder = {
		shop,
		orderId,
		sku,
		quantity,
		productName: product?.name ?? sku,
		buyerName: input.buyer?.name ?? null,
		date: input.paidAt === undefined || input.paidAt === null || input.paidAt === '' ? new Date() : new Date(input.paidAt),
	};
	let items: string[];
	try {
		if (!product) throw new ExternalApiError(`${sku} has no External API endpoint stored: set it with Key Pool → Upsert Product.`);
		items = (await fetchApiContent(parseApiConfig(product.config), order, opts)).items;
	} catch (err) {
		if (!(err instanceof ExternalApiError) && !(err instanceof ValidationError)) throw err;
		await store.holdLine({ orderId, shop, sku, quantity, reason: 'api_failed', buyer: input.buyer, amount: input.amount, paidAt: input.paidAt, actor: input.actor });
		return { delivered: false, reason: 'api_failed', orderId, shop, sku, quantity, detail: err.message };
	}
	return store.recordApiDelivery(input, items);
}

/** What happened to the revoke call of an External API delivery (Revoke on Refund's output). */
export interface RevokeCallOutcome {
	called: boolean;
	ok: boolean;
	status: number | null;
	attempts: number;
	message: string;
}

export type RevokedLine = RevokeResult & { revokeCall?: RevokeCallOutcome };

/**
 * Revokes an order's lines (store.revoke, unchanged), then calls the revoke endpoint of every
 * External API line whose product has one — also for a line revoked before, so running a refund
 * again retries a call that failed (the same Idempotency-Key `<shop>:<orderId>:<sku>:revoke`).
 */
export async function revokeLines(store: KeyStore, input: RevokeInput, opts: ApiCallOptions = {}): Promise<RevokedLine[]> {
	const results = await store.revoke(input);
	const out: RevokedLine[] = [];
	for (const r of results) {
		// Masked here: the content is opened only for a revoke call that uses it.
		const d = r.tombstone ? null : await store.getDeliveryById(r.deliveryId, false);
		if (!d || !d.externalApi) {
			out.push(r);
			continue;
		}
		const kept = ' The refund is recorded in the key store anyway: the content stays revoked.';
		let outcome: RevokeCallOutcome;
		try {
			const product = await store.getApiConfig(r.sku);
			const revoke = product ? parseApiConfig(product.config).revoke : null;
			if (!revoke) {
				outcome = { called: false, ok: true, status: null, attempts: 0, message: `No revoke call is configured for ${r.sku}: deactivate the content in your system if it needs that.` };
			} else {
				const order: ApiOrder = { shop: r.shop, orderId: r.orderId, sku: r.sku, quantity: d.quantity, productName: product?.name ?? r.sku, buyerName: d.buyer.name, date: d.createdAt };
				const content = usesContent(revoke) ? ((await store.getDeliveryById(r.deliveryId, true))?.keys ?? []).map((k) => k.key ?? '') : [];
				const res = await callRevokeApi(revoke, order, content, opts);
				outcome = { called: true, ok: true, status: res.status, attempts: res.attempts, message: `The revoke API answered ${res.status}.` };
			}
		} catch (err) {
			if (!(err instanceof ExternalApiError) && !(err instanceof ValidationError)) throw err;
			const e = err as ExternalApiError;
			outcome = { called: e instanceof ExternalApiError, ok: false, status: e.status ?? null, attempts: e.attempts ?? 0, message: `${e.message}${kept} Run the refund again to retry the call.` };
		}
		out.push({ ...r, revokeCall: outcome });
	}
	return out;
}

/**
 * Claim Key's whole decision for one order line (DESIGN §4): with `recordWaiting` (the default) an
 * out-of-stock line is recorded as waiting and a delivery ends a waiting line (store.claimOrHold);
 * External API products go through the seller's endpoint (claimLine: a failing API holds the line).
 * Returns the item for Claim Key's Delivered (true) or Not Delivered (false) output.
 */
export async function claimItem(store: KeyStore, input: ClaimLineInput, opts: { recordWaiting?: boolean } & ApiCallOptions = {}): Promise<{ delivered: boolean; item: DeliveredItem | NotDeliveredItem }> {
	if (opts.recordWaiting !== false) {
		const r = await store.claimOrHold({ ...input, paidAt: input.paidAt ?? null });
		if (r.result.delivered || r.result.reason !== 'external_api') return { delivered: r.result.delivered, item: claimOrHoldOutput(r) };
	}
	const result = await claimLine(store, input, opts);
	return { delivered: result.delivered, item: claimOutput(result) };
}
