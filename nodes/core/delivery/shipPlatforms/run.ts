/**
 * The calls of a platform preset, in order, through outbound/http.ts (`callWithRetry`: retries on
 * 5xx, timeouts and dropped connections, never on 4xx; answers redacted of the call's secrets):
 *
 * - WooCommerce: `PUT …/orders/<id>` `{"status":"completed"}`, then (when asked) the order note —
 *   best effort: the order is completed whatever the note does, so a failed note is reported, not
 *   recorded as a failed shipment;
 * - Shopify: a token (client credentials, cached per process until shortly before it expires) when
 *   the credential has no access token, the order's fulfillment orders, then one `fulfillmentCreate`
 *   per location holding open fulfillment orders (one for nearly every order). An order Shopify
 *   already shows as fulfilled is not fulfilled again.
 *
 * A 2xx answer that does not say what the documentation says (HTML from a site without pretty
 * permalinks, Shopify userErrors) fails like a refused request: an HttpCallError with that status.
 */
import { createHash } from 'node:crypto';

import { HttpCallError, callWithRetry, type HttpCall } from '../../outbound';
import { goofishSecrets } from '../../goofish';
import { topSecrets } from '../../taobao';
import { youzanSecrets } from '../../youzan';
import { FULFILLMENT_CREATE_MUTATION, FULFILLMENT_ORDERS_QUERY, fulfillmentInput, readFulfillmentCreate, readFulfillmentOrders, readShopifyToken, shopifyGraphqlCall, shopifyOrderGid, shopifySecrets, shopifyTokenCall } from './shopify';
import { PlatformAnswerError, type PlatformCall, type PlatformTarget, type ShopifyTarget, type WooCommerceTarget } from './types';
import { readWooNote, readWooOrder, wooCompleteCall, wooNoteCall, wooSecrets } from './woocommerce';

/** Every secret of a target, scrubbed from any text that leaves the core. */
export function platformSecrets(t: PlatformTarget): string[] {
	switch (t.platform) {
		case 'woocommerce':
			return wooSecrets(t);
		case 'shopify':
			return shopifySecrets(t);
		case 'stripe':
			return [t.secretKey].filter(Boolean);
		case 'paddle':
			return [t.apiKey].filter(Boolean);
		case 'taobao':
			return topSecrets(t);
		case 'goofish':
			return goofishSecrets(t);
		case 'youzan':
			return youzanSecrets(t);
	}
}

/** Runs calls one after another, counting every HTTP attempt of them all. */
export class CallSequence {
	attempts = 0;
	status: number | null = null;

	async run<T>(call: HttpCall, read: (data: unknown) => T): Promise<T> {
		let data: unknown;
		try {
			const res = await callWithRetry(call);
			this.attempts += res.attempts;
			this.status = res.status;
			data = res.data;
		} catch (err) {
			if (!(err instanceof HttpCallError)) throw err;
			this.attempts += err.attempts;
			throw new HttpCallError(err.message, err.status, err.code, this.attempts, err.responseBody);
		}
		try {
			return read(data);
		} catch (err) {
			if (err instanceof PlatformAnswerError) throw new HttpCallError(err.message, this.status, err.code, this.attempts, null);
			throw err;
		}
	}
}

export interface PlatformShipRequest {
	/** Checked by wooTarget / shopifyTarget. */
	target: WooCommerceTarget | (ShopifyTarget & { adminUrl: string; apiVersion: string });
	orderId: string;
	call: PlatformCall;
	/** WooCommerce: the order note to add after completing (none when null). */
	note?: { text: string; toCustomer: boolean } | null;
	/** Shopify: let Shopify e-mail the buyer about the fulfillment. Default false. */
	notifyCustomer?: boolean;
}

export interface PlatformShipDone {
	/** HTTP status of the last answer read. */
	status: number | null;
	attempts: number;
	/** WooCommerce order number / Shopify fulfillment id(s). */
	reference: string | null;
	/** Something the seller should know (already fulfilled, the note failed …). */
	note: string | null;
}

export async function runPlatformShip(req: PlatformShipRequest): Promise<PlatformShipDone> {
	const calls = new CallSequence();
	const t = req.target;
	return t.platform === 'woocommerce' ? shipWoo(t, req, calls) : shipShopify(t, req, calls);
}

async function shipWoo(t: WooCommerceTarget, req: PlatformShipRequest, calls: CallSequence): Promise<PlatformShipDone> {
	const { reference } = await calls.run(wooCompleteCall(t, req.orderId, req.call), (data) => readWooOrder(data, req.orderId));
	const status = calls.status;
	let note: string | null = null;
	if (req.note) {
		try {
			await calls.run(wooNoteCall(t, req.orderId, req.note.text, req.note.toCustomer, req.call), readWooNote);
		} catch (err) {
			note = `Order ${req.orderId} was completed on WooCommerce, but adding the order note failed: ${(err as Error).message}`;
		}
	}
	return { status, attempts: calls.attempts, reference, note };
}

// ------------------------------------------------------------------------------------- Shopify

/** Tokens of Dev Dashboard apps (client credentials), per store and app; never written anywhere. */
const tokens = new Map<string, { token: string; until: number }>();

const tokenKey = (t: ShopifyTarget & { adminUrl: string }) => createHash('sha256').update(`${t.adminUrl}\n${t.clientId}\n${t.clientSecret}`).digest('hex');

export async function shopifyToken(t: ShopifyTarget & { adminUrl: string }, calls: CallSequence, call: PlatformCall): Promise<string> {
	if (t.accessToken) return t.accessToken;
	const key = tokenKey(t);
	const hit = tokens.get(key);
	if (hit && hit.until > Date.now()) return hit.token;
	const { token, expiresInMs } = await calls.run(shopifyTokenCall(t, call), readShopifyToken);
	// renewed a few minutes early (at half its life for short ones), so no call starts with a token about to expire
	tokens.set(key, { token, until: Date.now() + Math.max(expiresInMs - 300_000, expiresInMs / 2) });
	return token;
}

/** A 401 answer: the cached token no longer works (app reinstalled, secret rotated); the next run asks again. */
export function forgetShopifyToken(t: ShopifyTarget & { adminUrl: string }, err: unknown): void {
	if (!t.accessToken && err instanceof HttpCallError && err.status === 401) tokens.delete(tokenKey(t));
}

async function shipShopify(t: ShopifyTarget & { adminUrl: string; apiVersion: string }, req: PlatformShipRequest, calls: CallSequence): Promise<PlatformShipDone> {
	const gid = shopifyOrderGid(req.orderId);
	const token = await shopifyToken(t, calls, req.call);
	const ids: string[] = [];
	try {
		const plan = await calls.run(shopifyGraphqlCall(t, token, FULFILLMENT_ORDERS_QUERY, { id: gid }, req.call), (data) => readFulfillmentOrders(data, gid));
		const label = plan.orderName ?? gid;
		if (plan.alreadyFulfilled) {
			return { status: calls.status, attempts: calls.attempts, reference: null, note: `Shopify already shows order ${label} as fulfilled: nothing was fulfilled again, the shipment is recorded.` };
		}
		for (const [i, group] of plan.groups.entries()) {
			try {
				const r = await calls.run(shopifyGraphqlCall(t, token, FULFILLMENT_CREATE_MUTATION, fulfillmentInput(group, req.notifyCustomer === true), req.call), readFulfillmentCreate);
				if (r.fulfillmentId) ids.push(r.fulfillmentId);
			} catch (err) {
				if (i === 0 || !(err instanceof HttpCallError)) throw err;
				const done = `${i} of ${plan.groups.length} locations of order ${label} were fulfilled; shipping again fulfils the rest`;
				throw new HttpCallError(`${err.message.replace(/\.?$/, '')} (${done}).`, err.status, err.code, err.attempts, err.responseBody);
			}
		}
		const note = plan.groups.length > 1 ? `Shopify order ${label} was fulfilled from ${plan.groups.length} locations (one fulfillment each).` : null;
		return { status: calls.status, attempts: calls.attempts, reference: ids.join(',') || null, note };
	} catch (err) {
		forgetShopifyToken(t, err);
		throw err;
	}
}
