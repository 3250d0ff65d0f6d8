/**
 * Mark Shipped — DESIGN §1.4 (no 虚假发货 / fake shipping) and §6.
 *
 * The algorithm, free of n8n:
 *   1. validate the request (method, path, JSON body template, reference field) — bad input
 *      changes nothing;
 *   2. `beginShip` takes the delivery's ship lease (one shop call per delivery across executions,
 *      workers and processes) or answers already_shipped / not_sent / revoked / busy;
 *   3. render the path (values URL-encoded) and the JSON body (template.ts JSON mode) with the
 *      DESIGN §6 variables (shipRequest.ts) — the delivery content is decrypted only when the body
 *      uses `{deliveryContent}` / `{发货内容}`, and only into the request;
 *   4. `callWithRetry` (2xx = success; retries on 5xx, timeouts, dropped connections; none on 4xx);
 *   5. `markShipped` with the shop reference read from the answer, or `markShipFailed` with the
 *      error scrubbed of the keys and of the shop credential's secrets.
 *
 * Nothing returned or thrown from here carries a plaintext key.
 */
import { redactSecrets } from '../secrets';
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, callWithRetry } from '../outbound';
import { type Actor, type Delivery, type KeyStore, orderLabel } from '../store';
import { withoutKeys } from './output';
import { prepareShipRequest, readReference, shipCall, shipContext, type ShipRequest, type ShopTarget } from './shipRequest';
import { DEFAULT_TIME_ZONE, formatDate } from './template';

export interface ShipInput {
	deliveryId: number;
	/** Refuse deliveries without a recorded send (default true). Off = the seller's explicit override. */
	requireSent?: boolean;
	/** Wait until the buyer opened the order's delivery page (ship on open instead of on send). */
	requireViewed?: boolean;
	/** Record the shipment without calling the shop. */
	recordOnly?: boolean;
	/** Reference stored with a Record Only shipment (e.g. a tracking number). */
	shopReference?: string | null;
	/** Required unless recordOnly. */
	shop?: ShopTarget;
	request?: ShipRequest;
	/** IANA time zone of `{date}`. Default Asia/Shanghai. */
	timeZone?: string;
	actor?: Actor;
	/** How long to wait for another execution that holds the ship lease. Default: the lease + 5 s. */
	waitMs?: number;
}

export type ShipOutcome =
	| {
			outcome: 'shipped';
			/** Shipped before: nothing was called now. */
			alreadyShipped: boolean;
			recordOnly: boolean;
			/** HTTP attempts made now (0 when nothing was called). */
			attempts: number;
			httpStatus: number | null;
			/** Shipped under the "Require Sent" override, without a recorded send. */
			withoutRecordedSend: boolean;
			delivery: Delivery;
	  }
	| { outcome: 'not_sent' | 'not_viewed' | 'revoked'; message: string; delivery: Delivery };

/** The shop call failed (recorded as ship_failed) or another execution holds the lease. Never carries a key. */
export class ShipError extends StoreError {
	constructor(
		message: string,
		code: 'ship_failed' | 'busy' | 'record_failed',
		readonly status: number | null = null,
		readonly attempts = 0,
		readonly delivery: Delivery | null = null,
	) {
		super(message, code);
		this.name = 'ShipError';
	}
}

// ------------------------------------------------------------------------------------- messages

export function notSentMessage(d: Delivery): string {
	return `Delivery ${d.id} (order ${d.orderId}, SKU ${d.sku}) has not been sent to the buyer yet: marking it shipped now would be fake shipping (虚假发货). Send it first (Notify Buyer), or switch off "Require Sent" to override.`;
}

export function notViewedMessage(d: Delivery): string {
	return `Delivery ${d.id} (order ${d.orderId}, SKU ${d.sku}) waits for the buyer to open the delivery page; it is marked shipped then (delivery-page workflow).`;
}

export function revokedMessage(d: Delivery): string {
	return `${orderLabel(d.shop, d.orderId)} (SKU ${d.sku}) was refunded/revoked${d.revokeReason ? ` (${d.revokeReason})` : ''}: a revoked delivery is never marked shipped.`;
}

// ------------------------------------------------------------------------------------- ship

/**
 * Marks one delivery shipped. Returns shipped (possibly alreadyShipped) / not_sent / revoked;
 * throws ValidationError for bad input (nothing changed) and ShipError when the shop call failed
 * (recorded as ship_failed, status unchanged) or another execution holds the lease too long.
 */
export async function shipDelivery(store: KeyStore, input: ShipInput): Promise<ShipOutcome> {
	const recordOnly = input.recordOnly === true;
	const prepared = recordOnly ? null : prepareShipRequest(input.request ?? { path: '' }, input.shop);
	const recordReference = recordOnly ? input.shopReference ?? null : null;
	if (recordReference !== null && String(recordReference).trim().length > 255) {
		throw new ValidationError('shopReference', 'Shop Reference is too long (at most 255 characters).');
	}
	const timeZone = input.timeZone || DEFAULT_TIME_ZONE;
	formatDate(new Date(0), timeZone); // throws a ValidationError for an unknown time zone, before anything is touched

	const begun = await store.beginShip(input.deliveryId, {
		requireSent: input.requireSent !== false,
		requireViewed: input.requireViewed === true,
		reveal: prepared?.needsContent === true,
		leaseMs: prepared?.leaseMs,
		waitMs: input.waitMs,
		actor: input.actor,
	});
	switch (begun.kind) {
		case 'revoked':
			return { outcome: 'revoked', message: revokedMessage(begun.delivery), delivery: withoutKeys(begun.delivery) };
		case 'not_sent':
			return { outcome: 'not_sent', message: notSentMessage(begun.delivery), delivery: withoutKeys(begun.delivery) };
		case 'not_viewed':
			return { outcome: 'not_viewed', message: notViewedMessage(begun.delivery), delivery: withoutKeys(begun.delivery) };
		case 'already_shipped':
			return { outcome: 'shipped', alreadyShipped: true, recordOnly: false, attempts: 0, httpStatus: null, withoutRecordedSend: false, delivery: withoutKeys(begun.delivery) };
		case 'busy':
			throw new ShipError(
				`Delivery ${input.deliveryId} is being marked shipped by another execution that has not finished; try again later.`,
				'busy',
				null,
				0,
				withoutKeys(begun.delivery),
			);
	}

	const { token } = begun;
	const withoutRecordedSend = begun.delivery.sentAt === null;
	const plainKeys = begun.delivery.keys.map((k) => k.key ?? '').filter((k) => k !== '');
	const secrets = [...plainKeys, ...(input.shop?.secrets ?? [])];
	const scrub = (text: string) => redactSecrets(text, secrets);

	if (recordOnly || !prepared) {
		const d = await store.markShipped(input.deliveryId, token, { shopReference: recordReference, recordOnly: true, actor: input.actor });
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: true, attempts: 0, httpStatus: null, withoutRecordedSend, delivery: d };
	}

	let status: number;
	let reference: string | null;
	let attempts: number;
	try {
		let productName: string | null = null;
		try {
			productName = (await store.getProduct(begun.delivery.sku))?.name ?? null;
		} catch {
			// an order-level line or a deleted product: fall back to the sku
		}
		const ctx = shipContext(begun.delivery, productName);
		const res = await callWithRetry(shipCall(prepared, input.shop!, ctx, timeZone, secrets));
		status = res.status;
		attempts = res.attempts;
		const ref = readReference(res.data, prepared.referenceField);
		reference = ref === null ? null : scrub(ref).trim().slice(0, 255) || null;
	} catch (err) {
		const http = err instanceof HttpCallError ? err : null;
		const raw = http
			? `Shop API call failed: ${http.message}`
			: err instanceof StoreError
				? err.message
				: `Shop API call failed: ${(err as Error)?.message ?? String(err)}`;
		const message = scrub(raw);
		let after: Delivery | null = null;
		try {
			after = await store.markShipFailed(input.deliveryId, token, { error: message, status: http?.status ?? null, actor: input.actor });
		} catch {
			// recording the failure failed too: the lease expires on its own
		}
		if (err instanceof ValidationError) throw new ValidationError(err.field, scrub(err.message));
		throw new ShipError(message, 'ship_failed', http?.status ?? null, http?.attempts ?? 0, after);
	}

	try {
		const d = await store.markShipped(input.deliveryId, token, { shopReference: reference, recordOnly: false, actor: input.actor });
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: false, attempts, httpStatus: status, withoutRecordedSend, delivery: d };
	} catch (err) {
		throw new ShipError(
			scrub(`The shop accepted the shipment (HTTP ${status}${reference ? `, reference ${reference}` : ''}) but recording it in the key store failed: ${(err as Error)?.message ?? String(err)}`),
			'record_failed',
			status,
			attempts,
		);
	}
}

// ------------------------------------------------------------------------------------- output

export interface ShipItem {
	deliveryId: number;
	orderId: string;
	shop: string | null;
	sku: string;
	status: string;
	ship: Record<string, unknown>;
}

/** The item fields Mark Shipped sets on top of its input item (never a key). */
export function shipItem(o: ShipOutcome): ShipItem {
	const d = o.delivery;
	const base = { deliveryId: d.id, orderId: d.orderId, shop: d.shop, sku: d.sku, status: d.status };
	if (o.outcome !== 'shipped') return { ...base, ship: { shipped: false, reason: o.outcome, message: o.message } };
	const ship: Record<string, unknown> = {
		shipped: true,
		alreadyShipped: o.alreadyShipped,
		shopReference: d.shopReference,
		shippedAt: d.shippedAt,
		attempts: o.attempts,
		recordOnly: o.recordOnly,
	};
	if (o.httpStatus !== null) ship.httpStatus = o.httpStatus;
	if (o.withoutRecordedSend) ship.withoutRecordedSend = true;
	// A refund that landed while the shop call was in flight keeps the delivery revoked.
	return { ...base, status: d.status === 'revoked' ? 'revoked' : 'shipped', ship };
}
