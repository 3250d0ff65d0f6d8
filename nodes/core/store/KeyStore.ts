/**
 * The key store: public API of the domain (DESIGN §2–§5). No n8n imports.
 *
 * Promises enforced here (DESIGN §1): a key is delivered at most once (conditional claim inside a
 * transaction, SKIP LOCKED / SQLite write lock), an order line is delivered at most once (unique
 * (shop, order_id, sku) delivery row, ids compared byte-exactly, replays return the same keys), keys
 * are sealed at rest and only opened when asked, bad input changes nothing.
 *
 * An order line's identity is (shop, orderId, sku). Orders without a shop belong to the default
 * shop (stored as '', shown as null): two shops sharing one key pool never mistake each other's
 * order 1001.
 *
 * KeyStore is the facade: each concern lives in its own module (products, imports, claims,
 * deliveries, leases, refunds, stock, events, riskLog, alerts), working on a StoreContext that
 * never leaves nodes/core/store.
 */
import type { LinkCheck, LinkSettings } from '../delivery/link';
import { type AlertStore, alertStore } from './alerts';
import * as claims from './claims';
import type { DatabaseKind, StoreConfig } from './connection';
import { type StoreContext, bindContext } from './context';
import * as deliveries from './deliveries';
import * as events from './events';
import { type FollowUpStore, followUpStore } from './followUps';
import * as imports from './imports';
import * as leases from './leases';
import * as notices from './notices';
import { openContext } from './open';
import * as page from './page';
import * as products from './products';
import * as refunds from './refunds';
import { type RiskStore, riskStore } from './riskLog';
import * as stock from './stock';
import * as waiting from './waiting';
import type {
	ClaimInput,
	ClaimResult,
	Delivery,
	DeliveryQuery,
	DeliveryRef,
	DeliveryWithKeys,
	EventQuery,
	ExportInput,
	ExportedKey,
	ImportInput,
	ImportResult,
	ListKeysInput,
	ListedKey,
	Product,
	ProductInput,
	RevokeInput,
	RevokeResult,
	SendFailedInfo,
	SendLease,
	SendOptions,
	SentInfo,
	ShipFailedInfo,
	ShipLease,
	ShipOptions,
	ShippedInfo,
	StockRow,
	StoreEvent,
	VoidInput,
	VoidResult,
} from './types';

export * from './types';
export type { HeldLine, PageLine, PageView, PageViewInput } from './page';
export type { ClaimOrHoldInput, ClaimOrHoldResult, CompleteInput, CompleteResult, CompletedLine, HoldInput, HoldResult, WaitingLine, WaitingQuery, WaitingReason, WaitingStatus } from './waiting';
export { STOCK_REASONS, WAITING_REASONS } from './waiting';
export type { Notice, NoticeKind, NoticeLease, NoticeRef, NoticeStatus } from './notices';

export class KeyStore {
	readonly kind: DatabaseKind;
	/** Risk Check's tables: the risk log, subject locks and the blocklist (nodes/core/risk holds the rules). */
	readonly risk: RiskStore;
	/** Stock Alert's tables: alert states and stalled deliveries (nodes/core/alerts holds the rules). */
	readonly alerts: AlertStore;
	/** Follow-ups: which deliveries are due, taking one (never twice), their events (nodes/core/delivery/followUp.ts sends them). */
	readonly followUps: FollowUpStore;
	readonly #ctx: StoreContext;

	private constructor(ctx: StoreContext) {
		this.kind = ctx.kind;
		this.#ctx = ctx;
		this.risk = riskStore(ctx);
		this.alerts = alertStore(ctx);
		this.followUps = followUpStore(ctx);
		bindContext(this, ctx);
	}

	/** Connects, applies migrations and checks the Encryption Secret (see openContext). */
	static async open(cfg: StoreConfig): Promise<KeyStore> {
		return new KeyStore(await openContext(cfg));
	}

	async close(): Promise<void> {
		await this.#ctx.db.destroy();
	}

	// ---------------------------------------------------------------- products and import

	upsertProduct(input: ProductInput): Promise<Product> {
		return products.upsertProduct(this.#ctx, input);
	}

	getProduct(sku: string): Promise<Product | null> {
		return products.getProduct(this.#ctx, sku);
	}

	/** An External API product's name and endpoint config (unsealed; never output it); null for other products. */
	getApiConfig(sku: string): Promise<{ sku: string; name: string; config: Record<string, unknown> } | null> {
		return products.getApiConfig(this.#ctx, sku);
	}

	/** Imports keys: blanks, invalid keys and duplicates are counted and skipped; the rest are sealed. */
	importKeys(input: ImportInput): Promise<ImportResult> {
		return imports.importKeys(this.#ctx, input);
	}

	// ---------------------------------------------------------------- claim and reads

	/** Claims keys for one order line (DESIGN §4): all or nothing, idempotent per (shop, orderId, sku). */
	claim(input: ClaimInput): Promise<ClaimResult> {
		return claims.claim(this.#ctx, input);
	}

	/**
	 * Records the content an External API product's endpoint returned for an order line, like a
	 * claim: one delivery (items sealed), the `claimed` event, the waiting line ended; a replay or a
	 * concurrent winner returns the recorded delivery, a refund tombstone answers `revoked`.
	 */
	recordApiDelivery(input: ClaimInput, items: readonly string[]): Promise<ClaimResult> {
		return claims.claim(this.#ctx, input, items);
	}

	/** Deliveries of an order of a shop (all lines, or one sku); keys masked unless `reveal`. */
	getDeliveries(input: DeliveryQuery): Promise<DeliveryWithKeys[]> {
		return deliveries.getDeliveries(this.#ctx, input);
	}

	getDeliveryById(id: number, reveal = false): Promise<DeliveryWithKeys | null> {
		return deliveries.getDeliveryById(this.#ctx, id, reveal);
	}

	/** A delivery by id, or by order id + sku. Throws a not_found StoreError naming what was looked for. */
	findDelivery(ref: DeliveryRef): Promise<DeliveryWithKeys> {
		return deliveries.findDelivery(this.#ctx, ref);
	}

	// ---------------------------------------------------------------- stock

	countAvailable(sku: string): Promise<number> {
		return stock.countAvailable(this.#ctx, sku);
	}

	/** Counts per sku and status, including products without keys. */
	stock(sku?: string | null): Promise<StockRow[]> {
		return stock.stock(this.#ctx, sku);
	}

	/** Keys of a sku, masked, ordered by id. */
	listKeys(input: ListKeysInput): Promise<ListedKey[]> {
		return stock.listKeys(this.#ctx, input);
	}

	/** Decrypted keys for a backup, in pages, by id. */
	exportKeys(input: ExportInput = {}): AsyncGenerator<ExportedKey> {
		return stock.exportKeys(this.#ctx, input);
	}

	/** Voids keys that are still available (never assigned, revoked or already void ones). */
	voidKeys(input: VoidInput): Promise<VoidResult> {
		return stock.voidKeys(this.#ctx, input);
	}

	// ---------------------------------------------------------------- sending and shipping (DESIGN §1.4)

	/** Takes the send lease of a delivery: `go` (send, then markSent / markSendFailed), or why not. */
	beginSend(deliveryId: number, opts: SendOptions = {}): Promise<SendLease> {
		return leases.beginSend(this.#ctx, deliveryId, opts);
	}

	/** Records that the buyer was sent the content (DESIGN §1.4: "sent" is a recorded state). */
	markSent(deliveryId: number, token: string | null, info: SentInfo): Promise<Delivery> {
		return leases.markSent(this.#ctx, deliveryId, token, info);
	}

	/** Records a failed send (the error text is scrubbed of the delivery's keys) and frees the lease. */
	markSendFailed(deliveryId: number, token: string | null, info: SendFailedInfo): Promise<Delivery> {
		return leases.markSendFailed(this.#ctx, deliveryId, token, info);
	}

	/** Takes the ship lease of a delivery: `go` (call the shop, then markShipped / markShipFailed), or why not. */
	beginShip(deliveryId: number, opts: ShipOptions = {}): Promise<ShipLease> {
		return leases.beginShip(this.#ctx, deliveryId, opts);
	}

	/** Records that the shop accepted the shipment (or, with recordOnly, that the seller shipped it). */
	markShipped(deliveryId: number, token: string | null, info: ShippedInfo = {}): Promise<Delivery> {
		return leases.markShipped(this.#ctx, deliveryId, token, info);
	}

	/** Records a failed shop call (scrubbed of keys) and frees the lease; the delivery stays sent. */
	markShipFailed(deliveryId: number, token: string | null, info: ShipFailedInfo): Promise<Delivery> {
		return leases.markShipFailed(this.#ctx, deliveryId, token, info);
	}

	// ---------------------------------------------------------------- the delivery page (DESIGN §7)

	/** A signed link to the delivery page of an order (never holds a key). */
	deliveryLink(settings: LinkSettings, target: { shop?: string | null; orderId: string }, now?: number): string {
		return page.signLink(this.#ctx, settings, target, now);
	}

	/** Checks a delivery-page request's query (o, s, e, t): the order it names, or why not. */
	checkDeliveryLink(query: Record<string, unknown> | null | undefined, now?: number): LinkCheck {
		return page.checkLink(this.#ctx, query, now);
	}

	/** One view of an order's delivery page: rate-limited, audited, and (by default) recorded as the send of claimed lines. */
	viewOrder(input: page.PageViewInput): Promise<page.PageView> {
		return page.viewOrder(this.#ctx, input);
	}

	// ---------------------------------------------------------------- waiting order lines (delays)

	/** Records that an order line waits (out of stock, held for review, API failing); once per order line. */
	holdLine(input: waiting.HoldInput): Promise<waiting.HoldResult> {
		return waiting.holdLine(this.#ctx, input);
	}

	/** Waiting order lines, oldest payment first. */
	listWaiting(input: waiting.WaitingQuery = {}): Promise<waiting.WaitingLine[]> {
		return waiting.listWaiting(this.#ctx, input);
	}

	/** Ends a waiting line as delivered (with its delivery id) or cancelled; true when it was waiting. */
	endWaiting(line: { orderId: string; shop?: string | null; sku: string }, status: 'delivered' | 'cancelled', deliveryId: number | null = null): Promise<boolean> {
		return waiting.endWaiting(this.#ctx, line, status, deliveryId);
	}

	/** Claims an order line; out of stock, records it as waiting (and claims once more); delivered, ends its waiting line. */
	claimOrHold(input: waiting.ClaimOrHoldInput): Promise<waiting.ClaimOrHoldResult> {
		return waiting.claimOrHold(this.#ctx, input);
	}

	/** Delivers the waiting lines of a SKU in order of payment, stopping at the first the stock cannot fill. */
	completeWaiting(input: waiting.CompleteInput): Promise<waiting.CompleteResult> {
		return waiting.completeWaiting(this.#ctx, input);
	}

	// ---------------------------------------------------------------- notices at most once per order

	/** The order's notice of this kind, if one was begun. */
	getNotice(ref: notices.NoticeRef): Promise<notices.Notice | null> {
		return notices.getNotice(this.#ctx, ref);
	}

	/** Takes the right to send an order's notice (the row is written before sending): `go`, or why not. */
	beginNotice(ref: notices.NoticeRef, channel: string): Promise<notices.NoticeLease> {
		return notices.beginNotice(this.#ctx, ref, channel);
	}

	/** Records the outcome of a notice begun with `token` (sent is final; failed may be tried again). */
	finishNotice(ref: notices.NoticeRef, token: number, outcome: Parameters<typeof notices.finishNotice>[3]): Promise<boolean> {
		return notices.finishNotice(this.#ctx, ref, token, outcome);
	}

	// ---------------------------------------------------------------- refunds (DESIGN §1.5) and events

	/** Revokes an order's keys on refund (one result per order line, or a tombstone); idempotent. */
	revoke(input: RevokeInput): Promise<RevokeResult[]> {
		return refunds.revoke(this.#ctx, input);
	}

	/** Audit events, newest first. With an order id, only that order of `shop` (default: the default shop). */
	listEvents(input: EventQuery = {}): Promise<StoreEvent[]> {
		return events.listEvents(this.#ctx, input);
	}
}
