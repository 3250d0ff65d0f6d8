/** Notify Buyer's output items: a delivery sent (or not), and a failure under On Error → Continue. */
import type { IDataObject } from 'n8n-workflow';

import { NotifyError, keyStrings, type NotifyInfo, type NotifyResult } from '../../core/delivery';
import { maskKey } from '../../core/secrets';

/** The input item (kept, so buyer etc. flow on) with the delivery's state and the send result. */
export function itemFor(input: IDataObject, r: NotifyResult): IDataObject {
	const d = r.delivery;
	const json: IDataObject = {
		...input,
		deliveryId: d.id,
		orderId: d.orderId,
		sku: d.sku,
		quantity: d.quantity,
		status: d.status,
		keys: keyStrings(r.keys),
		keyIds: r.keys.map((k) => k.id),
		keysMasked: r.keys.some((k) => k.key === undefined),
		buyer: (input.buyer as IDataObject | undefined) ?? (d.buyer as unknown as IDataObject),
		notify: { ...r.notify } as unknown as IDataObject,
	};
	if (r.message) (json.notify as IDataObject).message = r.message;
	return json;
}

/**
 * A failed item: the input (plain keys masked) with a notify block saying nothing was sent. When
 * the send of one delivery failed (`deliveryId`), that delivery's fields and, from a NotifyError,
 * the channel, the recipient and the send count.
 */
export function failedItem(input: IDataObject, message: string, error?: unknown, deliveryId?: number): IDataObject {
	let json = input;
	let notify: Partial<NotifyInfo> = {};
	if (deliveryId !== undefined) {
		const d = error instanceof NotifyError ? error.delivery : null;
		json = { ...input, ...(d ? { deliveryId: d.id, orderId: d.orderId, sku: d.sku, status: d.status } : { deliveryId }) };
		if (error instanceof NotifyError) notify = { channel: error.channel, recipient: error.recipient, sendCount: d?.sendCount ?? 0 };
	}
	return {
		...maskedInput(json),
		notify: { sent: false, alreadySent: false, resent: false, channel: null, recipient: null, messageId: null, sentAt: null, sendCount: 0, ...notify, error: message },
	};
}

/** Plain keys an upstream node passed on (Claim Key with Include Keys) are masked in a failed item. */
function maskedInput(json: IDataObject): IDataObject {
	if (json.keysMasked === false && Array.isArray(json.keys)) return { ...json, keys: json.keys.map((k) => maskKey(String(k))), keysMasked: true };
	return { ...json };
}
