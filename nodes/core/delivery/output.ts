/** The item shapes the nodes output for claims and deliveries (plain data, no n8n types). */
import { type ClaimOrHoldResult, type ClaimResult, type CompletedLine, type DeliveredKey, type Delivery, type DeliveryWithKeys, type NotDeliveredReason, type WaitingLine, orderLabel } from '../store';

/** The delivery line an item is about: its identity (shop + orderId + sku) and where it stands. */
export interface DeliveryLine {
	deliveryId: number;
	orderId: string;
	/** The order's shop (its identity is shop + orderId + sku); null for the default shop. */
	shop: string | null;
	sku: string;
	quantity: number;
	status: string;
}

export interface DeliveredItem extends DeliveryLine {
	/** Masked (`ABCD…WXYZ`) unless the seller asked for plain keys. */
	keys: string[];
	keyIds: Array<number | null>;
	keysMasked: boolean;
	alreadyDelivered: boolean;
	fixedContent: boolean;
	/** The content came from the seller's endpoint (External API product). */
	externalApi: boolean;
	buyer: DeliveryWithKeys['buyer'];
	amount: number | null;
	createdAt: string;
}

export interface NotDeliveredItem {
	orderId: string;
	shop: string | null;
	sku: string;
	quantity: number;
	status: 'not_delivered';
	reason: NotDeliveredReason;
	message: string;
	available?: number;
	deliveryId?: number;
	/** The line waits for stock (Claim Key with Record Waiting Lines on). */
	waiting?: WaitingInfo;
}

/** A waiting line as items show it. */
export interface WaitingInfo {
	id: number;
	reason: WaitingLine['reason'];
	status: WaitingLine['status'];
	paidAt: string;
	since: string;
}

export function waitingInfo(w: WaitingLine): WaitingInfo {
	return { id: w.id, reason: w.reason, status: w.status, paidAt: w.paidAt, since: w.createdAt };
}

const MESSAGES: Record<NotDeliveredReason, (r: { sku: string; quantity: number; available?: number; orderId: string; shop: string | null }) => string> = {
	out_of_stock: (r) => `Out of stock: ${r.quantity} key(s) of ${r.sku} needed, ${r.available ?? 0} available. Nothing was claimed.`,
	revoked: (r) => `${orderLabel(r.shop, r.orderId)} was refunded/revoked; nothing is delivered for it.`,
	unknown_sku: (r) => `Unknown SKU "${r.sku}": import keys or create the product first.`,
	external_api: (r) => `${r.sku} is an External API product: its content comes from your endpoint, never from the key pool. Nothing was claimed.`,
	api_failed: (r) => `The content API of ${r.sku} failed, so nothing was delivered; the order line is held (waiting) and listed by Stock Alert. Running the order again retries the call with the same Idempotency-Key.`,
};

/** Keys as display strings (masked unless revealed), their ids, and whether any is masked. */
export function keyFields(keys: DeliveredKey[]): { keys: string[]; keyIds: Array<number | null>; keysMasked: boolean } {
	return { keys: keys.map((k) => k.key ?? k.masked), keyIds: keys.map((k) => k.id), keysMasked: keys.some((k) => k.key === undefined) };
}

/** The line fields of an item about a delivery. */
export function deliveryLine(d: Delivery): DeliveryLine {
	return { deliveryId: d.id, orderId: d.orderId, shop: d.shop, sku: d.sku, quantity: d.quantity, status: d.status };
}

export function deliveryItem(d: DeliveryWithKeys, alreadyDelivered: boolean): DeliveredItem {
	return {
		...deliveryLine(d),
		...keyFields(d.keys),
		alreadyDelivered,
		fixedContent: d.fixedContent,
		externalApi: d.externalApi,
		buyer: d.buyer,
		amount: d.amount,
		createdAt: d.createdAt,
	};
}

export function claimOutput(r: ClaimResult): DeliveredItem | NotDeliveredItem {
	if (r.delivered) return deliveryItem(r.delivery, r.alreadyDelivered);
	const item: NotDeliveredItem = {
		orderId: r.orderId,
		shop: r.shop,
		sku: r.sku,
		quantity: r.quantity,
		status: 'not_delivered',
		reason: r.reason,
		message: r.detail ? `${r.detail} ${MESSAGES[r.reason](r)}` : MESSAGES[r.reason](r),
	};
	if (r.available !== undefined) item.available = r.available;
	if (r.delivery) item.deliveryId = r.delivery.id;
	return item;
}

/** Claim Key's item with waiting lines on: a waiting out-of-stock line says so (and is completed when keys arrive). */
export function claimOrHoldOutput(r: ClaimOrHoldResult): DeliveredItem | NotDeliveredItem {
	const item = claimOutput(r.result);
	if (r.result.delivered || !r.waiting) return item;
	const nd = item as NotDeliveredItem;
	nd.waiting = waitingInfo(r.waiting);
	if (r.waiting.status === 'waiting') nd.message += ' The line waits and is delivered in order of payment when keys are imported (Key Pool → Complete Waiting Orders).';
	return nd;
}

/** Complete Waiting Orders' item: Claim Key's Delivered item of the line, and the waiting line it ended. */
export function completedItem(c: CompletedLine): DeliveredItem & { waiting: WaitingInfo } {
	return { ...deliveryItem(c.delivery, c.alreadyDelivered), waiting: waitingInfo(c.line) };
}

/** The delivery record without its keys (for results and errors that must not carry one). */
export function withoutKeys(d: DeliveryWithKeys | Delivery): Delivery {
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { keys: _keys, ...rest } = d as DeliveryWithKeys;
	return rest;
}

/** Everything recorded about a delivery, with keys as display strings (Get Delivery). */
export function deliveryDetails(d: DeliveryWithKeys): Record<string, unknown> {
	const item: Partial<DeliveredItem> = deliveryItem(d, true);
	delete item.alreadyDelivered;
	return { ...d, ...item };
}
