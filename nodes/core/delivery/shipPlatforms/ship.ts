/**
 * Mark Shipped with a platform preset — the same algorithm and promises as ../ship.ts (DESIGN §1.4,
 * no 虚假发货 / fake shipping), with the shop call taken from the platform instead of a template:
 *
 *   1. check the preset (platform, credential fields, call options) — bad input changes nothing;
 *   2. for WooCommerce, Shopify and Taobao, which mark the whole order: check the delivery's order id for the
 *      platform, and — unless the seller overrides "Require Sent" — refuse while another line of the
 *      same order has no recorded send (completing the order would ship that line too);
 *   3. `beginShip`: the ship lease (one shop call sequence per delivery across executions, workers and
 *      processes), or already shipped / not sent / revoked / busy;
 *   4. WooCommerce / Shopify: run.ts; Taobao: taobao.ts (dummy.send once per trade, a later line a
 *      recorded no-op); Stripe, Lemon Squeezy, Paddle: nothing to call (their APIs have
 *      no fulfil step), the shipment is recorded with a `platformNote` saying why;
 *   5. `markShipped` with the platform's reference, or `markShipFailed` with the error scrubbed of the
 *      credential's secrets (the keys are never decrypted here: the order note shows them masked).
 */
import { redactSecrets } from '../../secrets';
import { StoreError, ValidationError } from '../../errors';
import { HttpCallError } from '../../outbound';
import { DEFAULT_SHIP_LEASE_MS, orderLabel, type Actor, type Delivery, type KeyStore, type ShipLease } from '../../store';
import { callOptions } from '../callOptions';
import { withoutKeys } from '../output';
import { ShipError, notSentMessage, notViewedMessage, revokedMessage, shipItem, type ShipItem, type ShipOutcome } from '../ship';
import { MAX_RETRIES } from '../shipRequest';
import { platformSecrets, runPlatformShip, type PlatformShipDone } from './run';
import { shopifyOrderGid, shopifyTarget } from './shopify';
import { CALLING_PLATFORMS, PLATFORM_LABELS, shipPlatform, type GoofishTarget, type PlatformCall, type PlatformTarget, type ShipPlatformId, type TaobaoTarget, type YouzanTarget } from './types';
import { goofishOrderNo, goofishShipOptions, goofishTarget, shipGoofish, type GoofishShipOptions } from './goofish';
import { shipYouzan, youzanTarget, youzanTid } from './youzan';
import { TAOBAO_SKU_FROM, TopApiError, topTarget, type TaobaoSkuFrom } from '../../taobao';
import { shipTaobao, taobaoTid } from './taobao';
import { WOO_NOTE_MODES, wooNoteText, wooOrderId, wooTarget, type WooNoteMode } from './woocommerce';

/** Why the record-only presets call nothing (shown as `ship.platformNote`). */
export const RECORD_ONLY_NOTES: Record<'stripe' | 'lemonsqueezy' | 'paddle', string> = {
	stripe: 'Stripe has no fulfil call: a paid Checkout Session or invoice is fulfilled on your side (here: the keys were sent). Nothing was called; the shipment is recorded in the key store only.',
	lemonsqueezy: 'Lemon Squeezy has no fulfil call in its API: a paid order needs no shipping step there. Nothing was called; the shipment is recorded in the key store only.',
	paddle: 'Paddle Billing has no fulfil call in its API: a completed transaction needs no shipping step there. Nothing was called; the shipment is recorded in the key store only.',
};

export interface PlatformShipInput {
	deliveryId: number;
	platform: ShipPlatformId;
	/** From the Auto Delivery Shop API credential; required for WooCommerce and Shopify, unused otherwise. */
	target?: PlatformTarget | null;
	/** Refuse deliveries without a recorded send (default true). Off = the seller's explicit override. */
	requireSent?: boolean;
	/** Wait until the buyer opened the order's delivery page (ship on open instead of on send). */
	requireViewed?: boolean;
	/** WooCommerce: add an order note with the masked content. Default none. */
	wooNote?: WooNoteMode;
	/** Shopify: Shopify e-mails the buyer about the fulfillment. Default false. */
	notifyCustomer?: boolean;
	/** Taobao: put the keys on the trade as dummy.send's identCode feature. Default false. */
	taobaoIdentCode?: boolean;
	/** Taobao: which field of a trade line is the SKU (as in the Taobao Trigger); used with identCode. Default outer_sku_id. */
	taobaoSkuFrom?: TaobaoSkuFrom;
	/** 闲管家: which ship call and its fields (goofish.ts; defaults documented there). */
	goofishShip?: GoofishShipOptions;
	/** Per call, as in ShipRequest: timeout (ms), extra attempts on 5xx / timeouts, first backoff (ms). */
	timeoutMs?: number;
	retries?: number;
	backoffMs?: number;
	actor?: Actor;
	/** How long to wait for another execution that holds the ship lease. */
	waitMs?: number;
}

export type PlatformShipOutcome = ShipOutcome & { platform: ShipPlatformId; platformNote: string | null };

interface Prepared {
	platform: ShipPlatformId;
	target: ReturnType<typeof wooTarget> | ReturnType<typeof shopifyTarget> | TaobaoTarget | GoofishTarget | YouzanTarget | null;
	call: PlatformCall;
	leaseMs: number;
	wooNote: WooNoteMode;
	goofish: Required<GoofishShipOptions>;
}

/** The preset's target with its fields checked. */
function checkedTarget(t: PlatformTarget): Prepared['target'] {
	switch (t.platform) {
		case 'woocommerce':
			return wooTarget(t);
		case 'shopify':
			return shopifyTarget(t);
		case 'taobao':
			return { ...topTarget(t), platform: 'taobao' };
		case 'goofish':
			return goofishTarget(t);
		case 'youzan':
			return youzanTarget(t);
		default:
			return null;
	}
}

/** The platform's order id check (whole digits, E… for 有赞, a Shopify gid). */
function checkOrderId(platform: ShipPlatformId, orderId: string): void {
	if (platform === 'woocommerce') wooOrderId(orderId);
	else if (platform === 'taobao') taobaoTid(orderId);
	else if (platform === 'goofish') goofishOrderNo(orderId);
	else if (platform === 'youzan') youzanTid(orderId);
	else shopifyOrderGid(orderId);
}

const MARKS: Partial<Record<ShipPlatformId, string>> = {
	woocommerce: 'completed',
	taobao: 'sent (logistics.dummy.send ships the whole trade)',
	goofish: 'shipped (闲管家 ships the whole order)',
	youzan: 'shipped (logistics.online.confirm ships the whole trade)',
};

/** Checks everything before the store is touched; the lease covers every call the preset may make. */
export function preparePlatformShip(input: PlatformShipInput): Prepared {
	const platform = shipPlatform(input.platform);
	const wooNote = input.wooNote ?? 'none';
	if (!WOO_NOTE_MODES.includes(wooNote)) throw new ValidationError('wooNote', `Order Note must be one of ${WOO_NOTE_MODES.join(', ')}.`);
	const { leaseMs: oneCallLease, ...call } = callOptions(input, MAX_RETRIES, 0);
	let target: Prepared['target'] = null;
	let calls = 0;
	const goofish = goofishShipOptions(input.goofishShip);
	if ((CALLING_PLATFORMS as readonly string[]).includes(platform)) {
		if (!input.target || input.target.platform !== platform) {
			throw new ValidationError('platform', `The Auto Delivery Shop API credential is not set up for ${PLATFORM_LABELS[platform]}: choose ${PLATFORM_LABELS[platform]} as its Platform and fill in its fields.`);
		}
		target = checkedTarget(input.target);
		if (input.taobaoSkuFrom !== undefined && !TAOBAO_SKU_FROM.includes(input.taobaoSkuFrom)) throw new ValidationError('taobaoSkuFrom', `SKU From must be one of ${TAOBAO_SKU_FROM.join(', ')}.`);
		// WooCommerce: the order, the note. Shopify: a token, the fulfillment orders, a fulfillment (two locations at most in the budget). Taobao: fullinfo.get (identCode), dummy.send.
		// 闲管家, 有赞: one call.
		calls = platform === 'woocommerce' ? (wooNote === 'none' ? 1 : 2) : platform === 'taobao' ? (input.taobaoIdentCode === true ? 2 : 1) : platform === 'shopify' ? 4 : 1;
	}
	const perCall = oneCallLease - 30000;
	return { platform, target, call, wooNote, goofish, leaseMs: Math.max(DEFAULT_SHIP_LEASE_MS, calls * perCall + 30000) };
}

/** Step 2: the order id fits the platform, and no other line of the order waits for its send. */
async function otherLinesUnsent(store: KeyStore, p: Prepared, deliveryId: number, requireSent: boolean): Promise<PlatformShipOutcome | null> {
	const d = await store.getDeliveryById(deliveryId);
	// missing, refunded, shipped, or not sent itself: beginShip gives the answer (and records the refusal)
	if (!d || d.status === 'revoked' || d.status === 'shipped' || (d.status === 'claimed' && requireSent)) return null;
	checkOrderId(p.platform, d.orderId);
	if (!requireSent) return null;
	const unsent = (await store.getDeliveries({ orderId: d.orderId, shop: d.shop })).filter((o) => o.id !== d.id && o.status === 'claimed');
	if (unsent.length === 0) return null;
	const label = PLATFORM_LABELS[p.platform];
	const message = `${orderLabel(d.shop, d.orderId)} has other lines not sent to the buyer yet (SKU ${unsent.map((o) => o.sku).join(', ')}): ${label} marks the whole order ${MARKS[p.platform] ?? 'fulfilled'}, so doing it now would be fake shipping (虚假发货) for them. Send them first (Notify Buyer), or switch off "Require Sent" to override.`;
	return { outcome: 'not_sent', message, delivery: withoutKeys(d), platform: p.platform, platformNote: null };
}

/** Step 3's answers other than `go`. */
function leaseAnswer(lease: Exclude<ShipLease, { kind: 'go' }>, deliveryId: number): ShipOutcome {
	const delivery = withoutKeys(lease.delivery);
	if (lease.kind === 'already_shipped') return { outcome: 'shipped', alreadyShipped: true, recordOnly: false, attempts: 0, httpStatus: null, withoutRecordedSend: false, delivery };
	if (lease.kind === 'busy') {
		throw new ShipError(`Delivery ${deliveryId} is being marked shipped by another execution that has not finished; try again later.`, 'busy', null, 0, delivery);
	}
	const message = lease.kind === 'revoked' ? revokedMessage(delivery) : lease.kind === 'not_viewed' ? notViewedMessage(delivery) : notSentMessage(delivery);
	return { outcome: lease.kind, message, delivery };
}

async function productName(store: KeyStore, sku: string): Promise<string | null> {
	try {
		return (await store.getProduct(sku))?.name ?? null;
	} catch {
		return null; // an order-level line or a deleted product: the note names the sku
	}
}

/**
 * Marks one delivery shipped with a platform preset. Returns shipped (possibly alreadyShipped) /
 * not_sent / revoked with the platform and its note; throws ValidationError for bad input (nothing
 * changed) and ShipError when the platform call failed (recorded as ship_failed, still "sent") or
 * another execution holds the lease.
 */
export async function shipViaPlatform(store: KeyStore, input: PlatformShipInput): Promise<PlatformShipOutcome> {
	const p = preparePlatformShip(input);
	const requireSent = input.requireSent !== false;
	const early = p.target ? await otherLinesUnsent(store, p, input.deliveryId, requireSent) : null;
	if (early) return early;

	const lease = await store.beginShip(input.deliveryId, { requireSent, requireViewed: input.requireViewed === true, reveal: false, leaseMs: p.leaseMs, waitMs: input.waitMs, actor: input.actor });
	if (lease.kind !== 'go') return { ...leaseAnswer(lease, input.deliveryId), platform: p.platform, platformNote: null };
	const withoutRecordedSend = lease.delivery.sentAt === null;
	const record = (shopReference: string | null, recordOnly: boolean): Promise<Delivery> =>
		store.markShipped(input.deliveryId, lease.token, { shopReference, recordOnly, actor: input.actor });

	if (!p.target) {
		const delivery = await record(null, true);
		const platformNote = RECORD_ONLY_NOTES[p.platform as keyof typeof RECORD_ONLY_NOTES];
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: true, attempts: 0, httpStatus: null, withoutRecordedSend, delivery, platform: p.platform, platformNote };
	}

	const label = PLATFORM_LABELS[p.platform];
	const secrets = platformSecrets(p.target);
	const scrub = (t: string) => redactSecrets(t, secrets);
	let done: PlatformShipDone;
	try {
		if (p.target.platform === 'taobao') {
			done = await shipTaobao(store, { target: p.target, delivery: lease.delivery, call: p.call, identCode: input.taobaoIdentCode === true, skuFrom: input.taobaoSkuFrom ?? 'outer_sku_id' });
		} else if (p.target.platform === 'goofish') {
			done = await shipGoofish(store, { target: p.target, delivery: lease.delivery, call: p.call, options: p.goofish });
		} else if (p.target.platform === 'youzan') {
			done = await shipYouzan(store, { target: p.target, delivery: lease.delivery, call: p.call });
		} else {
			const note = p.platform !== 'woocommerce' || p.wooNote === 'none' ? null : { text: wooNoteText(lease.delivery, await productName(store, lease.delivery.sku)), toCustomer: p.wooNote === 'customer' };
			done = await runPlatformShip({ target: p.target, orderId: lease.delivery.orderId, call: p.call, note, notifyCustomer: input.notifyCustomer === true });
		}
	} catch (err) {
		throw await recordFailure(store, input, lease.token, err, label, scrub);
	}

	const reference = done.reference === null ? null : scrub(done.reference).trim().slice(0, 255) || null;
	try {
		const delivery = await record(reference, false);
		const platformNote = done.note === null ? null : scrub(done.note);
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: false, attempts: done.attempts, httpStatus: done.status, withoutRecordedSend, delivery, platform: p.platform, platformNote };
	} catch (err) {
		const said = `${label} accepted the shipment${reference ? ` (reference ${reference})` : ''}, but recording it in the key store failed: ${(err as Error)?.message ?? String(err)}`;
		throw new ShipError(scrub(said), 'record_failed', done.status, done.attempts);
	}
}

/** Records the failed call on the delivery (ship_failed, lease freed) and gives the error to throw. */
async function recordFailure(store: KeyStore, input: PlatformShipInput, token: string, err: unknown, label: string, scrub: (t: string) => string): Promise<Error> {
	const http = err instanceof HttpCallError ? err : null;
	const top = err instanceof TopApiError ? err : null;
	const why = http ? http.message : err instanceof StoreError ? err.message : ((err as Error)?.message ?? String(err));
	const message = scrub(err instanceof StoreError ? why : `${label} call failed: ${why}`);
	const status = http?.status ?? top?.status ?? null;
	const after = await store.markShipFailed(input.deliveryId, token, { error: message, status, actor: input.actor }).catch(() => null); // else the lease expires on its own
	return err instanceof ValidationError ? new ValidationError(err.field, scrub(err.message)) : new ShipError(message, 'ship_failed', status, http?.attempts ?? top?.attempts ?? 0, after);
}

/** The item fields Mark Shipped sets for a preset: ship.ts's shape plus `ship.platform` and `ship.platformNote`. */
export function platformShipItem(o: PlatformShipOutcome): ShipItem {
	const item = shipItem(o);
	item.ship.platform = o.platform;
	if (o.platformNote) item.ship.platformNote = o.platformNote;
	return item;
}
