import type { IDataObject } from 'n8n-workflow';

import { keyFields, type RevokedLine } from '../../core/delivery';

/** One order line: what was revoked, keys as display strings (masked unless revealed). */
export function revokeItem(r: RevokedLine): IDataObject {
	const item: IDataObject = {
		orderId: r.orderId,
		shop: r.shop,
		sku: r.sku,
		deliveryId: r.deliveryId,
		tombstone: r.tombstone,
		alreadyRevoked: r.alreadyRevoked,
		previousStatus: r.previousStatus,
		buyerSaw: r.buyerSaw,
		reason: r.reason,
		quantity: r.quantity,
		...keyFields(r.keys),
		revokedKeyIds: r.revokedKeyIds,
		returnedKeyIds: r.returnedKeyIds,
		returnedToStock: r.returnedKeyIds.length,
		buyer: r.buyer,
	};
	// External API lines: the outcome of the revoke call to the seller's system (never its content).
	if (r.revokeCall) item.revokeCall = { ...r.revokeCall };
	return item;
}
