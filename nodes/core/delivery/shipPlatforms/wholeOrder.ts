/**
 * Platforms whose ship call ships the WHOLE order (Taobao's dummy.send, 闲管家's 发货, 有赞's
 * online.confirm without oids): the first line's ship calls the platform once; a later line of the
 * same order finds a shipped sibling and is recorded shipped with the sibling's reference, calling
 * nothing (ship.ts step 2 already refused while a sibling had no recorded send).
 */
import type { DeliveryWithKeys, KeyStore } from '../../store';

export interface WholeOrderShipDone {
	status: number | null;
	attempts: number;
	reference: string | null;
	note: string | null;
}

/** The recorded no-op when another line of the order is already shipped; null when this line must call. */
export async function shippedSibling(store: KeyStore, d: DeliveryWithKeys, said: (sku: string) => string): Promise<WholeOrderShipDone | null> {
	const siblings = await store.getDeliveries({ orderId: d.orderId, shop: d.shop });
	const shipped = siblings.find((o) => o.id !== d.id && o.status === 'shipped');
	return shipped ? { status: null, attempts: 0, reference: shipped.shopReference, note: said(shipped.sku) } : null;
}
