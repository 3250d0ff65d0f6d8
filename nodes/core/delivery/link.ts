/**
 * Delivery-page links (DESIGN §7 "Delivery links"): a URL the buyer can open to see what an order
 * received. It names the order (shop + order id) and an expiry, and carries an HMAC over both
 * under a key derived from the Key Store credential's Encryption Secret (nodes/core/secrets/seal.ts,
 * `linkKey`), so only the store that issued it can make one and every worker sharing the store can
 * check it. A link never holds a key.
 *
 *   <Delivery Page URL>?o=<order id>&s=<shop>&e=<expiry, unix seconds>&t=<signature>
 *
 * `s` is left out for the default shop. The signature is HMAC-SHA256 over the JSON text
 * `["v1", shop, orderId, expiry]` (unambiguous whatever the ids contain), truncated to 128 bits,
 * base64url (22 characters), compared in constant time.
 *
 * Why the order and not one delivery: the shop sends the buyer to the page right after payment,
 * when the order may still wait (held for review, out of stock) and no delivery exists yet; one
 * link per order also shows every line of a multi-line order on one page.
 */
import { createHmac, timingSafeEqual } from 'crypto';

import { ValidationError } from '../errors';

export const DEFAULT_LINK_TTL_DAYS = 7;
const MAX_LINK_TTL_DAYS = 3650;
const SIG_BYTES = 16;
const ID_MAX = 191;

export interface LinkSettings {
	/** The delivery page's public URL (n8n's production webhook URL of the delivery-page workflow). */
	baseUrl: string;
	/** How long a new link stays valid, in days (default 7). */
	ttlDays?: number;
}

export interface LinkTarget {
	/** '' or null: the default shop. */
	shop: string | null;
	orderId: string;
}

export type LinkCheck =
	| { ok: true; shop: string; orderId: string; expiresAt: number }
	| { ok: false; reason: 'malformed' | 'forged' | 'expired' };

/** Checks the seller's settings; throws a ValidationError a seller understands. */
export function checkLinkSettings(s: LinkSettings): Required<LinkSettings> {
	let url: URL;
	try {
		url = new URL(s.baseUrl);
	} catch {
		throw new ValidationError('deliveryPageUrl', `Delivery Page URL "${s.baseUrl}" is not a URL. Use the production URL of the delivery-page workflow's Webhook node, e.g. https://n8n.example.com/webhook/delivery.`);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('deliveryPageUrl', 'Delivery Page URL must start with https:// (or http://).');
	if (url.hash) throw new ValidationError('deliveryPageUrl', 'Delivery Page URL must not contain a #fragment.');
	const ttlDays = s.ttlDays === undefined || s.ttlDays === null ? DEFAULT_LINK_TTL_DAYS : Number(s.ttlDays);
	if (!Number.isFinite(ttlDays) || ttlDays <= 0 || ttlDays > MAX_LINK_TTL_DAYS) {
		throw new ValidationError('deliveryLinkTtlDays', `Delivery Link Valid For must be a number of days above 0 (at most ${MAX_LINK_TTL_DAYS}).`);
	}
	return { baseUrl: url.toString(), ttlDays };
}

export function linkSignature(key: Buffer, shop: string, orderId: string, expiresAt: number): string {
	return createHmac('sha256', key).update(JSON.stringify(['v1', shop, orderId, expiresAt])).digest().subarray(0, SIG_BYTES).toString('base64url');
}

/** A signed link to the delivery page of an order, valid for the settings' days from `now`. */
export function makeDeliveryLink(key: Buffer, settings: LinkSettings, target: LinkTarget, now = Date.now()): string {
	const s = checkLinkSettings(settings);
	const shop = target.shop ?? '';
	const expiresAt = Math.floor(now / 1000 + s.ttlDays * 86400);
	const url = new URL(s.baseUrl);
	url.searchParams.set('o', target.orderId);
	if (shop !== '') url.searchParams.set('s', shop);
	url.searchParams.set('e', String(expiresAt));
	url.searchParams.set('t', linkSignature(key, shop, target.orderId, expiresAt));
	return url.toString();
}

function single(v: unknown): string | null {
	if (typeof v === 'string') return v;
	return null; // arrays (a repeated parameter), objects, numbers: not a link we issued
}

/**
 * Checks the query parameters of a request to the delivery page. Anything we did not issue —
 * missing or repeated parameters, another order's signature, a changed expiry — is `forged` or
 * `malformed`; a genuine link past its expiry is `expired` (told apart only after the signature
 * verified, so the answer gives nothing away about other links).
 */
export function checkDeliveryLink(key: Buffer, query: Record<string, unknown> | null | undefined, now = Date.now()): LinkCheck {
	const q = query ?? {};
	const orderId = single(q.o);
	const shop = q.s === undefined ? '' : single(q.s);
	const e = single(q.e);
	const t = single(q.t);
	if (orderId === null || shop === null || e === null || t === null) return { ok: false, reason: 'malformed' };
	if (orderId === '' || orderId.length > ID_MAX || shop.length > ID_MAX || !/^[0-9]{1,12}$/.test(e) || !/^[A-Za-z0-9_-]{22}$/.test(t)) {
		return { ok: false, reason: 'malformed' };
	}
	const expiresAt = Number(e);
	const given = Buffer.from(t, 'base64url');
	const expected = Buffer.from(linkSignature(key, shop, orderId, expiresAt), 'base64url');
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
	if (expiresAt * 1000 <= now) return { ok: false, reason: 'expired' };
	return { ok: true, shop, orderId, expiresAt };
}
