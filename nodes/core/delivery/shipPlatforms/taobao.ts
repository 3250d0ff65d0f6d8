/**
 * The Taobao / Tmall preset of Mark Shipped: `taobao.logistics.dummy.send` (无需物流发货, shipping
 * without a carrier — the call for virtual goods), https://open.taobao.com/api.htm?docId=10687&docType=2:
 * parameters `tid` (required) and `feature` (optional; for card goods
 * `identCode=<oid>:<code1>,<code2>|<oid2>:<code3>` puts the codes on the trade for the buyer),
 * answer `{"logistics_dummy_send_response": {"shipping": {"is_success": true}}}`.
 * Not confirmed against the live platform: the exact `feature` syntax for card codes (the page's
 * example; `|` between lines, `,` between codes) and the sub code TOP answers for a trade that was
 * already sent — the preset never sends a trade twice itself (below).
 *
 * dummy.send ships the WHOLE trade. So, like WooCommerce and Shopify, a line is shipped only when
 * every other line of the trade has a recorded send (ship.ts step 2, unless "Require Sent" is off),
 * and the trade is sent ONCE: the first line's ship calls dummy.send; a later line of the same
 * trade finds a shipped sibling and is recorded shipped with the sibling's reference, calling
 * nothing (a recorded no-op).
 *
 * identCode (default off): the keys of every sent line of the trade are decrypted only into this one
 * call's `feature` field, split over the line's oids by their quantities (trade.fullinfo.get tells
 * which oid holds which SKU, read with the same SKU From as the trigger). Every key is then a secret
 * of the call: redacted from any error text, never in the shop reference, the note or the store.
 */
import { ValidationError } from '../../errors';
import { redactSecrets } from '../../secrets';
import { type DeliveryWithKeys, type KeyStore } from '../../store';
import { TopApiError, fullTrade, topCall, tradeLines, type TaobaoSkuFrom, type TopCallOptions } from '../../taobao';
import { PlatformAnswerError, type PlatformCall, type TaobaoTarget } from './types';
import { shippedSibling, type WholeOrderShipDone } from './wholeOrder';

/** A Taobao trade id (tid): digits only, exactly as the delivery has it (19 digits today). */
export function taobaoTid(orderId: string): string {
	if (!/^[0-9]{1,20}$/.test(orderId)) {
		throw new ValidationError('orderId', `Taobao trade ids (tid) are whole numbers (e.g. 2840188394502391201), but this delivery's order id is "${orderId.slice(0, 60)}". Check the order id the Taobao Trigger recorded, or use the Custom HTTP API platform.`);
	}
	return orderId;
}

/** Characters the identCode syntax uses: a key containing one cannot be passed (it would split). */
const IDENT_SEPARATORS = /[,|:;=]/;

/** `identCode=<oid>:<codes>|…` for the sent lines of a trade; keys are split over each SKU's oids by quantity. */
export function identCodeFeature(lines: { sku: string; oids: { oid: string; num: number }[] }[], deliveries: DeliveryWithKeys[]): string {
	const parts: string[] = [];
	for (const d of deliveries) {
		const keys = d.keys.map((k) => k.key ?? '').filter((k) => k !== '');
		if (keys.length === 0) continue;
		if (keys.some((k) => IDENT_SEPARATORS.test(k) || /[\r\n]/.test(k))) {
			throw new ValidationError('taobaoIdentCode', `A key of SKU ${d.sku} contains one of , | : ; = or a line break, which the identCode field uses as separators: switch off "Send Keys as identCode" for this product.`);
		}
		const line = lines.find((l) => l.sku === d.sku);
		if (!line) throw new ValidationError('taobaoSkuFrom', `The Taobao trade has no line with SKU ${d.sku}: set Mark Shipped's SKU From like the Taobao Trigger's.`);
		const perUnit = Math.max(1, Math.floor(keys.length / Math.max(1, d.quantity)));
		let at = 0;
		line.oids.forEach((o, i) => {
			const mine = keys.slice(at, i === line.oids.length - 1 ? keys.length : at + o.num * perUnit);
			at += mine.length;
			if (mine.length > 0) parts.push(`${o.oid}:${mine.join(',')}`);
		});
	}
	return parts.length ? `identCode=${parts.join('|')}` : '';
}

export interface TaobaoShipRequest {
	target: TaobaoTarget;
	delivery: DeliveryWithKeys;
	call: PlatformCall;
	identCode: boolean;
	skuFrom: TaobaoSkuFrom;
}

export type TaobaoShipDone = WholeOrderShipDone;

/** Ships the trade of `delivery` (or finds it shipped by a sibling). Throws TopApiError / ValidationError with every key redacted. */
export async function shipTaobao(store: KeyStore, req: TaobaoShipRequest): Promise<TaobaoShipDone> {
	const d = req.delivery;
	const tid = taobaoTid(d.orderId);
	const done = await shippedSibling(store, d, (sku) => `Taobao trade ${tid} was already sent with logistics.dummy.send when SKU ${sku} was shipped (dummy.send ships the whole trade): recorded without a second call.`);
	if (done) return done;
	const call: TopCallOptions = { timeoutMs: req.call.timeoutMs, retries: req.call.retries, backoffMs: req.call.backoffMs };
	const secrets: string[] = [];
	let feature = '';
	if (req.identCode) {
		const withKeys = (await store.getDeliveries({ orderId: d.orderId, shop: d.shop, reveal: true })).filter((o) => o.status === 'sent' || o.status === 'shipped' || o.id === d.id);
		for (const o of withKeys) for (const k of o.keys) if (k.key) secrets.push(k.key);
		try {
			const trade = await fullTrade(req.target, tid, call);
			feature = identCodeFeature(tradeLines(trade, req.skuFrom), withKeys);
		} catch (err) {
			throw scrubbed(err, secrets);
		}
	}
	try {
		const r = await topCall(req.target, 'taobao.logistics.dummy.send', { tid, feature }, { ...call, secrets });
		const shipping = r.shipping as Record<string, unknown> | undefined;
		if (!shipping || (shipping.is_success !== true && shipping.is_success !== 'true')) {
			throw new PlatformAnswerError(`Taobao answered logistics.dummy.send for trade ${tid} without is_success = true: the trade was not marked sent.`, 'not_sent');
		}
		return { status: 200, attempts: 1, reference: 'is_success=true', note: feature ? `The keys were put on Taobao trade ${tid} as identCode (the buyer sees them in the order).` : null };
	} catch (err) {
		throw scrubbed(err, secrets);
	}
}

function scrubbed(err: unknown, secrets: string[]): unknown {
	if (secrets.length === 0) return err;
	const scrub = (s: string) => redactSecrets(s, secrets);
	if (err instanceof TopApiError) return new TopApiError(scrub(err.message), err.kind, err.code, err.subCode, err.retryable, err.attempts, err.retryAfterMs, err.status);
	if (err instanceof ValidationError) return new ValidationError(err.field, scrub(err.message));
	if (err instanceof PlatformAnswerError) return new PlatformAnswerError(scrub(err.message), err.code);
	return new Error(scrub((err as Error)?.message ?? String(err)));
}
