import type { IDataObject } from 'n8n-workflow';

import { keyFields } from '../../core/delivery';
import type { RevokeResult } from '../../core/store';

/** One order line: what was revoked, keys as display strings (masked unless revealed). */
export function revokeItem(r: RevokeResult): IDataObject {
	return {
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
}
