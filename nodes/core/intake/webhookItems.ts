/** The items Shop Webhook emits for a validated order: one per order line, or one per order (DESIGN.md §7). */
import type { Buyer, CanonicalOrder, OrderItem, RefundItem } from './order';
import type { PaidOutput } from './webhookSettings';

interface ItemBase {
	orderId: string;
	shop: string | null;
	/** Always an object; fields the shop did not send are null. */
	buyer: Buyer;
	amount: number | null;
	currency: string | null;
	paidAt: string | null;
}

/** order.paid, one item per order line (default). `line` is 0-based, `lines` the number of lines. */
export interface PaidLineItem extends ItemBase {
	event: 'order.paid';
	sku: string;
	name: string | null;
	quantity: number;
	price: number | null;
	line: number;
	lines: number;
}

/** order.paid with "one item per order". */
export interface PaidOrderItem extends ItemBase {
	event: 'order.paid';
	items: OrderItem[];
}

/** order.refunded: always one item per order; `items` empty means the whole order. */
export interface RefundOrderItem extends ItemBase {
	event: 'order.refunded';
	items: RefundItem[];
}

export type WebhookItem = PaidLineItem | PaidOrderItem | RefundOrderItem;

const NO_BUYER: Buyer = { id: null, name: null, email: null, ip: null };

/** The items the trigger emits for a validated order (item contract of the README / BRIEF). */
export function webhookItems(order: CanonicalOrder, paidOutput: PaidOutput = 'line'): WebhookItem[] {
	const base = (): ItemBase => ({
		orderId: order.orderId,
		shop: order.shop,
		buyer: { ...(order.buyer ?? NO_BUYER) },
		amount: order.amount,
		currency: order.currency,
		paidAt: order.paidAt,
	});
	if (order.event === 'order.refunded') {
		return [{ event: 'order.refunded', ...base(), items: order.items.map((i) => ({ ...i })) }];
	}
	if (paidOutput === 'order') {
		return [{ event: 'order.paid', ...base(), items: order.items.map((i) => ({ ...i })) }];
	}
	const lines = order.items.length;
	return order.items.map((item, line) => ({
		event: 'order.paid',
		...base(),
		sku: item.sku,
		name: item.name,
		quantity: item.quantity,
		price: item.price,
		line,
		lines,
	}));
}
