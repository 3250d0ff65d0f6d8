/**
 * The 有赞 preset of Mark Shipped: `youzan.logistics.online.confirm` (version 3.0.0) with `tid` and
 * `is_no_express=1` (无需物流发货 — the call for virtual goods), once per trade, with the shop's access
 * token: `POST https://open.youzanyun.com/api/youzan.logistics.online.confirm/3.0.0?access_token=…`
 * (有赞云 API 文档 → 物流 → youzan.logistics.online.confirm, https://doc.youzanyun.com/detail/API/0/…;
 * the URL form of nodes/core/youzan/client.ts). Answer `{success: true, data: {is_success: true}}`;
 * a refusal becomes a clear error naming 有赞's message, the order stays "sent".
 *
 * Without `oids` the whole trade is shipped, so — like Taobao — a line ships only when every other
 * line of the trade has a recorded send (ship.ts step 2), and the trade is confirmed once
 * (wholeOrder.ts). Not confirmed against the live platform: the code 有赞 answers for a trade that
 * is already shipped, and whether `is_success` is always present (a `success: true` answer without
 * it counts as shipped).
 */
import { ValidationError } from '../../errors';
import { readYouzanAnswer, youzanCall } from '../../youzan';
import type { DeliveryWithKeys, KeyStore } from '../../store';
import { envelopeReader } from './goofish';
import { CallSequence } from './run';
import { PlatformAnswerError, baseUrl, text, urlText, type PlatformCall, type YouzanTarget } from './types';
import { shippedSibling, type WholeOrderShipDone } from './wholeOrder';

export const YOUZAN_SHIP_API = 'youzan.logistics.online.confirm';
export const YOUZAN_SHIP_VERSION = '3.0.0';

export function youzanTarget(t: YouzanTarget): YouzanTarget {
	if (text(t.accessToken) === '') {
		throw new ValidationError('youzanAccessToken', 'The 有赞 Access Token is empty: set it in the Auto Delivery Shop API credential (有赞云 控制台 → 应用 → the shop authorisation).');
	}
	const apiUrl = text(t.apiUrl) === '' ? '' : urlText(baseUrl(text(t.apiUrl), 'youzanApiUrl', 'The 有赞 API URL'));
	return { ...t, accessToken: text(t.accessToken), apiUrl };
}

/** A 有赞 trade id (E2026… or digits): no spaces or separators, as the delivery has it. */
export function youzanTid(orderId: string): string {
	if (!/^[A-Za-z0-9]{1,64}$/.test(orderId)) {
		throw new ValidationError('orderId', `有赞 trade ids are letters and digits (e.g. E20261123100000012345678), but this delivery's order id is "${orderId.slice(0, 60)}". Check the order id Shop Webhook recorded, or use the Custom HTTP API platform.`);
	}
	return orderId;
}

export interface YouzanShipRequest {
	target: YouzanTarget;
	delivery: DeliveryWithKeys;
	call: PlatformCall;
}

export async function shipYouzan(store: KeyStore, req: YouzanShipRequest): Promise<WholeOrderShipDone> {
	const tid = youzanTid(req.delivery.orderId);
	const done = await shippedSibling(store, req.delivery, (sku) => `有赞 trade ${tid} was already confirmed shipped when SKU ${sku} was (online.confirm ships the whole trade): recorded without a second call.`);
	if (done) return done;
	const calls = new CallSequence();
	const what = `${YOUZAN_SHIP_API} for trade ${tid}`;
	const data = await calls.run(youzanCall(req.target, YOUZAN_SHIP_API, YOUZAN_SHIP_VERSION, { tid, is_no_express: 1 }, req.call), (answer) => {
		const d = envelopeReader(readYouzanAnswer, what)(answer);
		if (d.is_success === false || d.is_success === 'false') throw new PlatformAnswerError(`有赞 answered ${what} with is_success = false: the trade was not marked shipped.`, 'not_shipped');
		return d;
	});
	return { status: calls.status, attempts: calls.attempts, reference: data.is_success === undefined ? 'success=true' : `is_success=${String(data.is_success)}`, note: null };
}
