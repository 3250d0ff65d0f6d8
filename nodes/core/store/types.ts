/** The key store's public types and constants (order lines, deliveries, keys, stock, events, refunds). */
import type { Strategy } from './dialects';
import type { ProductSettings, ProductSettingsInput } from './productSettings';

export type { ProductSettings, ProductSettingsInput } from './productSettings';
export { DEFAULT_PRODUCT_SETTINGS } from './productSettings';

export type { Strategy } from './dialects';
export type KeyStatus = 'available' | 'assigned' | 'revoked' | 'void';
export type DeliveryStatus = 'claimed' | 'sent' | 'shipped' | 'revoked';

/** Who acted, recorded on audit events (never a secret). */
export interface Actor {
	workflowId?: string;
	executionId?: string;
	node?: string;
}

export interface Product {
	sku: string;
	name: string;
	lowStockThreshold: number | null;
	hasFixedContent: boolean;
	/** 'keys': pool keys (or fixed content); 'api': content fetched from the seller's endpoint (External API). */
	kind: 'keys' | 'api';
	/** An External API endpoint is stored (sealed; never shown). */
	hasApiConfig: boolean;
	/** Buyer-facing settings (delivery page, delay notice, follow-up). */
	settings: ProductSettings;
	createdAt: string;
	updatedAt: string;
}

export interface ProductInput {
	sku: string;
	name?: string | null;
	lowStockThreshold?: number | string | null;
	/** undefined: keep; null or '': clear; text: deliver this to every buyer instead of pool keys. */
	fixedContent?: string | null;
	/** Buyer-facing settings to change (absent: keep; null or '': clear). */
	settings?: ProductSettingsInput;
	/** undefined: keep; 'keys': pool keys or fixed content; 'api': content from the seller's endpoint (needs an API config). */
	kind?: 'keys' | 'api';
	/**
	 * The External API endpoint, already checked by the caller (nodes/core/delivery/externalApi.ts):
	 * stored sealed (URLs and headers may hold tokens). undefined: keep; null: remove.
	 */
	apiConfig?: Record<string, unknown> | null;
	actor?: Actor;
}

export interface ImportInput {
	sku: string;
	keys: Iterable<string> | AsyncIterable<string>;
	batchId?: string;
	/** Name for the product when the sku is new. */
	productName?: string;
	actor?: Actor;
}

export interface ImportResult {
	sku: string;
	batchId: string;
	received: number;
	imported: number;
	duplicate: number;
	invalid: number;
	blank: number;
}

export interface Buyer {
	id?: string | null;
	name?: string | null;
	email?: string | null;
	ip?: string | null;
}

export interface ClaimInput {
	orderId: string;
	sku: string;
	quantity?: number;
	strategy?: Strategy;
	buyer?: Buyer;
	amount?: number | string | null;
	/** The shop the order belongs to (part of its identity); empty: the default shop. */
	shop?: string | null;
	actor?: Actor;
	/** Include plaintext keys in the result (the seller asked for them). */
	reveal?: boolean;
}

export interface DeliveredKey {
	/** Key id in the pool; null for a product's fixed content and External API content. */
	id: number | null;
	status: KeyStatus;
	masked: string;
	/** Plaintext, only when revealed. */
	key?: string;
}

export interface Delivery {
	id: number;
	orderId: string;
	sku: string;
	quantity: number;
	status: DeliveryStatus;
	strategy: Strategy | null;
	fixedContent: boolean;
	/** The content came from the seller's endpoint (External API product); its items are the keys (id null). */
	externalApi: boolean;
	buyer: { id: string | null; name: string | null; email: string | null; ip: string | null };
	amount: number | null;
	shop: string | null;
	createdAt: string;
	updatedAt: string;
	sentAt: string | null;
	sentChannel: string | null;
	sentMessageId: string | null;
	shippedAt: string | null;
	shopReference: string | null;
	revokedAt: string | null;
	revokeReason: string | null;
	lastError: string | null;
	/** How many times the content was sent (1 after the first send, more after resends). */
	sendCount: number;
	shipAttempts: number;
}

export interface DeliveryWithKeys extends Delivery {
	keys: DeliveredKey[];
}

/** An order of a shop (all lines, or one sku); keys masked unless `reveal`. */
export interface DeliveryQuery {
	orderId: string;
	shop?: string | null;
	sku?: string | null;
	reveal?: boolean;
}

/** A delivery by id, or by order id (+ shop, + sku when the order has several lines). */
export interface DeliveryRef {
	deliveryId?: number | string | null;
	orderId?: string | null;
	shop?: string | null;
	sku?: string | null;
}

/**
 * Why an order line was not delivered. `external_api`: the product takes its content from the
 * seller's endpoint, which the key store does not call (nodes/core/delivery/apiClaim.ts does, then
 * records it); `api_failed`: that call failed and the line is held (never answered by the store).
 */
export type NotDeliveredReason = 'out_of_stock' | 'revoked' | 'unknown_sku' | 'external_api' | 'api_failed';

/** deliveries.strategy of an External API delivery: its `content` is a sealed JSON list of the items. */
export const EXTERNAL_STRATEGY = 'api';

export type ClaimResult =
	| { delivered: true; alreadyDelivered: boolean; delivery: DeliveryWithKeys }
	| {
			delivered: false;
			reason: NotDeliveredReason;
			orderId: string;
			/** null: the default shop. */
			shop: string | null;
			sku: string;
			quantity: number;
			/** Keys available when the claim was refused (out_of_stock). */
			available?: number;
			/** The tombstone / revoked delivery (revoked). */
			delivery?: DeliveryWithKeys;
			/** api_failed: what failed, for the seller (never the content or a secret). */
			detail?: string;
	  };

export interface StockRow {
	sku: string;
	name: string | null;
	lowStockThreshold: number | null;
	/** Fixed-content products never run out. */
	unlimited: boolean;
	available: number;
	assigned: number;
	revoked: number;
	void: number;
	total: number;
}

export interface ListKeysInput {
	sku: string;
	status?: KeyStatus | null;
	limit?: number;
	offset?: number;
}

export interface ListedKey {
	id: number;
	sku: string;
	status: KeyStatus;
	masked: string;
	batchId: string;
	deliveryId: number | null;
	orderId: string | null;
	/** The shop of that order; null for the default shop or no order. */
	shop: string | null;
	createdAt: string;
}

export interface ExportInput {
	sku?: string | null;
	status?: KeyStatus | null;
	pageSize?: number;
}

export interface ExportedKey {
	id: number;
	sku: string;
	key: string;
	status: KeyStatus;
	batchId: string;
	orderId: string | null;
	shop: string | null;
	createdAt: string;
}

export interface VoidInput {
	sku: string;
	/** Void these key ids (only if still available). */
	ids?: number[];
	/** Void these key values (matched by fingerprint, only if still available). */
	keys?: string[];
	/** Void every available key of this import batch. */
	batchId?: string;
	/** Void every available key of the sku. Required when no other selector is given. */
	all?: boolean;
	reason?: string;
	actor?: Actor;
}

export interface VoidResult {
	sku: string;
	voided: number;
	requested: number | null;
}

/** Audit events to list: with an order id, only that order of `shop` (default: the default shop). */
export interface EventQuery {
	orderId?: string;
	shop?: string | null;
	sku?: string;
	type?: string;
	limit?: number;
}

export interface StoreEvent {
	id: number;
	at: string;
	type: string;
	sku: string | null;
	orderId: string | null;
	deliveryId: number | null;
	/** The order's shop; null for the default shop and for events about no order. */
	shop: string | null;
	count: number | null;
	actor: string | null;
	details: Record<string, unknown> | null;
}

/** Longest key accepted at import (download links can be long). */
export const MAX_KEY_LENGTH = 4096;
export const MAX_QUANTITY = 1000;

export interface RevokeInput {
	orderId: string;
	shop?: string | null;
	sku?: string | null;
	reason?: string | null;
	returnUnsent?: boolean;
	reveal?: boolean;
	actor?: Actor;
}

/** What a refund did to one order line (Revoke on Refund's output). */
export interface RevokeResult {
	orderId: string;
	/** null: the default shop. */
	shop: string | null;
	sku: string;
	deliveryId: number;
	/** Nothing had been delivered: a tombstone now refuses a late "paid" retry. */
	tombstone: boolean;
	/** The line was revoked before; nothing changed now. */
	alreadyRevoked: boolean;
	previousStatus: DeliveryStatus | null;
	/** The buyer was (or may have been) sent the keys: deactivate them at the vendor. */
	buyerSaw: boolean;
	/** Keys now revoked, still linked to the order. */
	revokedKeyIds: number[];
	/** Keys the buyer never saw, returned to stock (only with returnUnsent). */
	returnedKeyIds: number[];
	reason: string | null;
	/** The revoked keys (masked unless revealed); fixed content shows as one entry with id null. */
	keys: DeliveredKey[];
	/** The buyer recorded with the delivery (all null for a tombstone). */
	buyer: Delivery['buyer'];
	quantity: number;
}

/** How long a sender may hold a delivery before another worker may try (a crash frees it this way). */
export const DEFAULT_SEND_LEASE_MS = 120000;
export const DEFAULT_SHIP_LEASE_MS = 120000;

export interface SendOptions {
	resend?: boolean;
	leaseMs?: number;
	waitMs?: number;
}

/** beginSend's answer: `go` with the lease token, or why nothing may be sent now. */
export type SendLease =
	| { kind: 'go'; token: string; delivery: DeliveryWithKeys }
	| { kind: 'already_sent' | 'revoked' | 'busy'; delivery: DeliveryWithKeys };

export interface SentInfo {
	channel: string;
	messageId?: string | null;
	recipient?: string | null;
	actor?: Actor;
}

export interface SendFailedInfo {
	channel: string;
	error: string;
	actor?: Actor;
}

export interface ShipOptions {
	requireSent?: boolean;
	/** Also wait until the buyer opened the order's delivery page (the seller ships on open, not on send). */
	requireViewed?: boolean;
	leaseMs?: number;
	waitMs?: number;
	reveal?: boolean;
	actor?: Actor;
}

/** beginShip's answer: `go` with the lease token, or why the shop must not be called now. */
export type ShipLease =
	| { kind: 'go'; token: string; delivery: DeliveryWithKeys }
	| { kind: 'already_shipped' | 'not_sent' | 'not_viewed' | 'revoked' | 'busy'; delivery: DeliveryWithKeys };

export interface ShippedInfo {
	shopReference?: string | null;
	recordOnly?: boolean;
	actor?: Actor;
}

export interface ShipFailedInfo {
	error: string;
	status?: number | null;
	actor?: Actor;
}

/** The wildcard sku of an order-level refund tombstone: blocks every line of that order. */
export const ORDER_WIDE_SKU = '*';

/** "order 1001" for the default shop, "order 1001 of shop tmall:main" otherwise (messages). */
export function orderLabel(shop: string | null | undefined, orderId: string): string {
	return shop ? `Order ${orderId} of shop ${shop}` : `Order ${orderId}`;
}
