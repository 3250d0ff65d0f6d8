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
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Knex } from 'knex';

import {
	type KeyMaterial,
	checkCanary,
	deriveKeys,
	fingerprint,
	makeCanary,
	maskKey,
	newSalt,
	redactAndClip,
	normaliseKey,
	seal,
	unseal,
} from '../secrets/crypto';
import {
	type DatabaseKind,
	type StoreConfig,
	createKnexFor,
	defaultSqlitePath,
	describeConnectError,
	resolvePrefix,
	retryBusy,
} from './connection';
import { type DeliveryInsert, type Dialect, type NewKeyRow, type Strategy, RAND_MAX, dialectFor } from './dialects';
import { StoreError, ValidationError } from '../errors';
import { AVAILABLE, KeyStoreMigrations, type TableNames, LATEST_MIGRATION, tableNames } from './schema';
import { DEFAULT_SHOP, optionalAmount, optionalNonNegativeInt, optionalText, positiveInt, requireId, shopId } from '../validate';
import { randomInt } from 'crypto';

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
	createdAt: string;
	updatedAt: string;
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
	/** Key id in the pool; null for a product's fixed content. */
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

export type NotDeliveredReason = 'out_of_stock' | 'revoked' | 'unknown_sku';

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

const ISO = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const isoReq = (ms: unknown): string => new Date(Number(ms)).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CONTROL = /[\u0000-\u001f\u007f]/;

class Refusal {
	constructor(readonly reason: 'out_of_stock', readonly got: number) {}
}

interface DeliveryRow {
	id: number;
	order_id: string;
	sku: string;
	quantity: number;
	status: DeliveryStatus;
	strategy: Strategy | null;
	content: string | null;
	buyer_id: string | null;
	buyer_name: string | null;
	buyer_email: string | null;
	buyer_ip: string | null;
	amount: number | string | null;
	/** '' for the default shop. */
	shop: string;
	created_at: number;
	updated_at: number;
	sent_at: number | null;
	sent_channel: string | null;
	sent_message_id: string | null;
	shipped_at: number | null;
	shop_reference: string | null;
	revoked_at: number | null;
	revoke_reason: string | null;
	last_error: string | null;
	send_lock_until?: number | null;
	send_token?: string | null;
	send_count?: number | null;
	ship_lock_until?: number | null;
	ship_token?: string | null;
	ship_attempts?: number | null;
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

/** A claim committed the line while a refund tombstone was being written: the transaction runs again. */
class RevokeRace extends Error {}

/** The wildcard sku of an order-level refund tombstone: blocks every line of that order. */
export const ORDER_WIDE_SKU = '*';

export class KeyStore {
	readonly kind: DatabaseKind;
	readonly t: TableNames;
	private readonly dialect: Dialect;

	private constructor(
		readonly db: Knex,
		kind: DatabaseKind,
		prefix: string,
		/** @internal sealing keys; core modules only. */
		readonly km: KeyMaterial,
	) {
		this.kind = kind;
		this.t = tableNames(prefix);
		this.dialect = dialectFor(kind);
	}

	/**
	 * Connects, applies migrations (safe when several processes open the store at once) and checks
	 * the Encryption Secret against the store's canary.
	 */
	static async open(cfg: StoreConfig): Promise<KeyStore> {
		const prefix = resolvePrefix(cfg.tablePrefix);
		if (!cfg.encryptionSecret) {
			throw new StoreError('The Encryption Secret is required: set it in the Auto Delivery Key Store credential.');
		}
		if (cfg.database === 'sqlite') {
			const file = cfg.sqlitePath && cfg.sqlitePath.trim() ? cfg.sqlitePath.trim() : defaultSqlitePath();
			if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
		}
		let db: Knex | undefined;
		try {
			db = createKnexFor(cfg);
			const t = tableNames(prefix);
			await migrate(db, cfg.database, t);
			const opened = db;
			const km = await retryBusy(() => loadKeyMaterial(opened, t, cfg.encryptionSecret));
			return new KeyStore(db, cfg.database, prefix, km);
		} catch (err) {
			if (db) await db.destroy().catch(() => undefined);
			throw describeConnectError(cfg, err);
		}
	}

	async close(): Promise<void> {
		await this.db.destroy();
	}

	// ---------------------------------------------------------------- transactions

	/**
	 * @internal Runs fn in a transaction (BEGIN IMMEDIATE on SQLite), retrying on deadlocks / busy
	 * errors with jittered backoff. fn may run more than once: keep side effects inside the database.
	 */
	async tx<T>(fn: (trx: Knex.Transaction) => Promise<T>, retryOn?: abstract new (...args: never[]) => Error): Promise<T> {
		for (let attempt = 1; ; attempt++) {
			try {
				return await this.db.transaction(fn, this.dialect.txConfig);
			} catch (err) {
				const again = this.dialect.isTransient(err) || (retryOn !== undefined && err instanceof retryOn);
				if ((attempt < 12 || (this.kind === 'sqlite' && attempt < 60)) && again) {
					await sleep(Math.min(200, 2 ** attempt) + randomInt(0, 20));
					continue;
				}
				throw err;
			}
		}
	}

	/** @internal Appends an audit event (never pass a secret in details). */
	async event(
		db: Knex | Knex.Transaction,
		type: string,
		fields: { sku?: string | null; orderId?: string | null; shop?: string | null; deliveryId?: number | null; count?: number | null; actor?: Actor; details?: Record<string, unknown> },
	): Promise<void> {
		// Outside a transaction (db is the pool) a busy SQLite file is waited for; inside one, tx() retries.
		const insert = () => db(this.t.events).insert({
			at: Date.now(),
			type,
			sku: fields.sku ?? null,
			order_id: fields.orderId ?? null,
			// The shop of the order the event is about ('' = default shop); null when it is about no order.
			shop: fields.orderId === undefined || fields.orderId === null ? null : (fields.shop ?? DEFAULT_SHOP),
			delivery_id: fields.deliveryId ?? null,
			count: fields.count ?? null,
			actor: actorText(fields.actor),
			details: fields.details ? JSON.stringify(fields.details) : null,
		});
		await (db === this.db ? retryBusy(async () => insert()) : insert());
	}

	// ---------------------------------------------------------------- products

	async upsertProduct(input: {
		sku: string;
		name?: string | null;
		lowStockThreshold?: number | string | null;
		/** undefined: keep; null or '': clear; text: deliver this to every buyer instead of pool keys. */
		fixedContent?: string | null;
		actor?: Actor;
	}): Promise<Product> {
		const sku = requireId('sku', input.sku, 'SKU');
		if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is reserved and cannot be a SKU.`);
		const name = optionalText('name', input.name, 255);
		const threshold = input.lowStockThreshold === undefined ? undefined : optionalNonNegativeInt('lowStockThreshold', input.lowStockThreshold);
		let fixed: string | null | undefined;
		if (input.fixedContent !== undefined) {
			const c = input.fixedContent === null ? '' : String(input.fixedContent).trim();
			if (c.length > MAX_KEY_LENGTH * 4) throw new ValidationError('fixedContent', 'Fixed content is too long.');
			fixed = c === '' ? null : seal(this.km, c);
		}
		const now = Date.now();
		await this.tx(async (trx) => {
			const existing = await trx(this.t.products).where({ sku }).first();
			if (existing) {
				const patch: Record<string, unknown> = { updated_at: now };
				if (name !== null) patch.name = name;
				if (threshold !== undefined) patch.low_stock_threshold = threshold;
				if (fixed !== undefined) patch.fixed_content = fixed;
				await trx(this.t.products).where({ sku }).update(patch);
			} else {
				await trx(this.t.products)
					.insert({
						sku,
						name: name ?? sku,
						low_stock_threshold: threshold ?? null,
						fixed_content: fixed ?? null,
						created_at: now,
						updated_at: now,
					})
					.onConflict('sku')
					.ignore();
			}
			await this.event(trx, 'product_upserted', {
				sku,
				actor: input.actor,
				details: { name: name ?? undefined, lowStockThreshold: threshold, fixedContent: fixed === undefined ? undefined : fixed !== null },
			});
		});
		return (await this.getProduct(sku)) as Product;
	}

	async getProduct(sku: string): Promise<Product | null> {
		const row = await this.db(this.t.products).where({ sku: requireId('sku', sku, 'SKU') }).first();
		return row ? mapProduct(row) : null;
	}

	// ---------------------------------------------------------------- import

	/**
	 * Imports keys: trims, drops blanks, counts invalid ones (control characters, longer than
	 * MAX_KEY_LENGTH), skips duplicates within the input and against the store (same fingerprint
	 * for the sku), seals the rest. Commits in chunks so claims keep running during a big import.
	 */
	async importKeys(input: ImportInput): Promise<ImportResult> {
		const sku = requireId('sku', input.sku, 'SKU');
		if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is reserved and cannot be a SKU.`);
		const batchId = input.batchId === undefined || input.batchId === '' ? `b-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}` : requireId('batchId', input.batchId, 'Batch ID');
		if (batchId.length > 64) throw new ValidationError('batchId', 'Batch ID is too long (at most 64 characters).');
		const productName = optionalText('productName', input.productName, 255);
		const now = Date.now();

		await retryBusy(async () =>
			this.db(this.t.products)
				.insert({ sku, name: productName ?? sku, low_stock_threshold: null, fixed_content: null, created_at: now, updated_at: now })
				.onConflict('sku')
				.ignore(),
		);
		const maxRow = await this.db(this.t.keys).where({ sku }).max({ m: 'seq' }).first();
		let seq = Number(maxRow?.m ?? 0) + 1;

		const result: ImportResult = { sku, batchId, received: 0, imported: 0, duplicate: 0, invalid: 0, blank: 0 };
		const chunkSize = this.dialect.insertChunk;
		let valid = 0;
		const km = this.km;
		// Lazily sealed chunks: the dialect inserts one while the next is being prepared. Duplicates
		// (within the input or against the store) are skipped by the unique (sku, fingerprint) index.
		let rows: NewKeyRow[] = [];
		/** Adds one input line; true when a chunk is full. */
		const take = (raw: unknown): boolean => {
			result.received++;
			const key = typeof raw === 'string' ? normaliseKey(raw) : '';
			if (key === '') {
				if (typeof raw === 'string') result.blank++;
				else result.invalid++;
				return false;
			}
			if (key.length > MAX_KEY_LENGTH || CONTROL.test(key)) {
				result.invalid++;
				return false;
			}
			valid++;
			rows.push({
				sku,
				seq: seq++,
				rand: randomInt(0, RAND_MAX),
				secret: seal(km, key),
				fingerprint: fingerprint(km, key),
				status: 'available',
				batch_id: batchId,
				created_at: now,
			});
			return rows.length >= chunkSize;
		};
		const source = input.keys;
		async function* chunks(): AsyncGenerator<NewKeyRow[]> {
			if (typeof (source as Iterable<string>)[Symbol.iterator] === 'function') {
				for (const raw of source as Iterable<string>) {
					if (take(raw)) {
						yield rows;
						rows = [];
					}
				}
			} else {
				for await (const raw of source as AsyncIterable<string>) {
					if (take(raw)) {
						yield rows;
						rows = [];
					}
				}
			}
			if (rows.length) yield rows;
		}
		result.imported = await this.dialect.bulkInsertKeys(this.db, this.t, chunks());
		result.duplicate = valid - result.imported;
		await this.event(this.db, 'imported', {
			sku,
			count: result.imported,
			actor: input.actor,
			details: { batchId, received: result.received, duplicate: result.duplicate, invalid: result.invalid, blank: result.blank },
		});
		return result;
	}

	// ---------------------------------------------------------------- claim

	/**
	 * Claims `quantity` keys for one order line (DESIGN §4): all or nothing, idempotent per
	 * (shop, orderId, sku), refusing refunded (tombstoned) orders. Out of stock is a result, not an error.
	 */
	async claim(input: ClaimInput): Promise<ClaimResult> {
		const orderId = requireId('orderId', input.orderId, 'Order ID');
		const shop = shopId(input.shop);
		const shopOut = shop === DEFAULT_SHOP ? null : shop;
		const sku = requireId('sku', input.sku, 'SKU');
		if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU.`);
		const quantity = input.quantity === undefined ? 1 : positiveInt('quantity', input.quantity, MAX_QUANTITY, 'Quantity');
		const strategy: Strategy = input.strategy ?? 'sequential';
		if (strategy !== 'sequential' && strategy !== 'random') {
			throw new ValidationError('strategy', 'Strategy must be "sequential" or "random".');
		}
		const buyer = input.buyer ?? {};
		const now = Date.now();
		const row: DeliveryInsert = {
			order_id: orderId,
			sku,
			quantity,
			status: 'claimed',
			strategy,
			content: null,
			buyer_id: optionalText('buyer.id', buyer.id, 191),
			buyer_name: optionalText('buyer.name', buyer.name, 255),
			buyer_email: optionalText('buyer.email', buyer.email, 320),
			buyer_ip: optionalText('buyer.ip', buyer.ip, 64),
			amount: optionalAmount('amount', input.amount),
			shop,
			created_at: now,
			updated_at: now,
		};
		const reveal = input.reveal === true;

		if (this.dialect.fastClaim) {
			const fast = await this.dialect.fastClaim(this.db, this.t, { row, strategy, actor: actorText(input.actor) });
			if (fast) {
				const d: DeliveryRow = {
					...(row as unknown as DeliveryRow),
					id: fast.deliveryId,
					content: fast.content,
					strategy: fast.content ? null : strategy,
					sent_at: null, sent_channel: null, sent_message_id: null, shipped_at: null, shop_reference: null,
					revoked_at: null, revoke_reason: null, last_error: null,
				};
				const keys = fast.content
					? [this.keyOut('assigned', null, unseal(this.km, fast.content), reveal)]
					: [...fast.keys].sort((a, b) => a.id - b.id).map((k) => this.keyOut('assigned', k.id, unseal(this.km, k.secret), reveal));
				return { delivered: true, alreadyDelivered: false, delivery: { ...mapDelivery(d), keys } };
			}
		}

		type Outcome =
			| { kind: 'existing'; row: DeliveryRow }
			| { kind: 'race' }
			| { kind: 'unknown_sku' }
			| { kind: 'delivered'; deliveryId: number };

		for (let round = 0; round < 5; round++) {
			let outcome: Outcome;
			try {
				outcome = await this.tx<Outcome>(async (trx) => {
					const existing = await this.findBlockingDelivery(trx, shop, orderId, sku);
					if (existing) return { kind: 'existing', row: existing };
					const product = await trx(this.t.products).where({ sku }).first('fixed_content');
					if (!product) return { kind: 'unknown_sku' };
					const fixed: string | null = product.fixed_content ?? null;
					const deliveryId = await this.dialect.insertDeliveryIgnore(trx, this.t, {
						...row,
						content: fixed,
						strategy: fixed ? null : strategy,
					});
					if (deliveryId === null) return { kind: 'race' };
					if (fixed) {
						await this.event(trx, 'claimed', { sku, orderId, shop, deliveryId, count: quantity, actor: input.actor, details: { fixedContent: true } });
						return { kind: 'delivered', deliveryId };
					}
					const claimed = await this.dialect.claimKeys(trx, this.t, { sku, quantity, strategy, deliveryId, now });
					if (claimed.length !== quantity) throw new Refusal('out_of_stock', claimed.length);
					await this.event(trx, 'claimed', {
						sku,
						orderId,
						shop,
						deliveryId,
						count: quantity,
						actor: input.actor,
						details: { keyIds: claimed.map((k) => k.id), strategy },
					});
					return { kind: 'delivered', deliveryId };
				});
			} catch (err) {
				if (err instanceof Refusal) {
					const available = await this.countAvailable(sku);
					await this.event(this.db, 'out_of_stock', { sku, orderId, shop, count: quantity, actor: input.actor, details: { available } });
					return { delivered: false, reason: 'out_of_stock', orderId, shop: shopOut, sku, quantity, available };
				}
				throw err;
			}
			switch (outcome.kind) {
				case 'unknown_sku':
					return { delivered: false, reason: 'unknown_sku', orderId, shop: shopOut, sku, quantity };
				case 'race':
					continue; // another claim for this order line committed first: read it
				case 'existing': {
					const d = await this.withKeys(outcome.row, reveal);
					if (d.status === 'revoked') {
						return { delivered: false, reason: 'revoked', orderId, shop: shopOut, sku, quantity, delivery: d };
					}
					return { delivered: true, alreadyDelivered: true, delivery: d };
				}
				case 'delivered': {
					const fresh = (await this.db(this.t.deliveries).where({ id: outcome.deliveryId }).first()) as DeliveryRow;
					return { delivered: true, alreadyDelivered: false, delivery: await this.withKeys(fresh, reveal) };
				}
			}
		}
		throw new StoreError(`${orderLabel(shop, orderId)} / ${sku} kept changing while it was being claimed; try again.`);
	}

	/** The delivery of this order line, or an order-wide refund tombstone. */
	private async findBlockingDelivery(db: Knex | Knex.Transaction, shop: string, orderId: string, sku: string): Promise<DeliveryRow | undefined> {
		const rows = (await db(this.t.deliveries).where({ shop, order_id: orderId }).whereIn('sku', [sku, ORDER_WIDE_SKU])) as DeliveryRow[];
		return rows.find((r) => r.sku === sku) ?? rows.find((r) => r.sku === ORDER_WIDE_SKU && r.status === 'revoked');
	}

	async countAvailable(sku: string): Promise<number> {
		const r = await this.db(this.t.keys).where({ sku }).whereRaw(AVAILABLE).count({ c: '*' }).first();
		return Number(r?.c ?? 0);
	}

	private keyOut(status: KeyStatus, id: number | null, plaintext: string, reveal: boolean): DeliveredKey {
		const k: DeliveredKey = { id, status, masked: maskKey(plaintext) };
		if (reveal) k.key = plaintext;
		return k;
	}

	/** @internal */
	async withKeys(row: DeliveryRow, reveal: boolean): Promise<DeliveryWithKeys> {
		const d = mapDelivery(row);
		let keys: DeliveredKey[];
		if (row.content) {
			keys = [this.keyOut(row.status === 'revoked' ? 'revoked' : 'assigned', null, unseal(this.km, row.content), reveal)];
		} else {
			const rows = (await this.db(this.t.keys).where({ delivery_id: row.id }).orderBy('id').select('id', 'secret', 'status')) as Array<{ id: number; secret: string; status: KeyStatus }>;
			keys = rows.map((k) => this.keyOut(k.status, Number(k.id), unseal(this.km, k.secret), reveal));
		}
		return { ...d, keys };
	}

	// ---------------------------------------------------------------- reads

	/** Deliveries of an order of a shop (all lines, or one sku); keys masked unless `reveal`. */
	async getDeliveries(input: { orderId: string; shop?: string | null; sku?: string | null; reveal?: boolean }): Promise<DeliveryWithKeys[]> {
		const orderId = requireId('orderId', input.orderId, 'Order ID');
		const q = this.db(this.t.deliveries).where({ shop: shopId(input.shop), order_id: orderId });
		if (input.sku) q.andWhere({ sku: requireId('sku', input.sku, 'SKU') });
		const rows = (await q.orderBy('id')) as DeliveryRow[];
		const out: DeliveryWithKeys[] = [];
		for (const r of rows) out.push(await this.withKeys(r, input.reveal === true));
		return out;
	}

	async getDeliveryById(id: number, reveal = false): Promise<DeliveryWithKeys | null> {
		const row = (await this.db(this.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
		return row ? this.withKeys(row, reveal) : null;
	}

	/** Counts per sku and status, including products without keys. */
	async stock(sku?: string | null): Promise<StockRow[]> {
		const only = sku ? requireId('sku', sku, 'SKU') : null;
		const q = this.db(this.t.keys).select('sku', 'status').count({ c: '*' }).groupBy('sku', 'status');
		if (only) q.where({ sku: only });
		const counts = (await q) as Array<{ sku: string; status: KeyStatus; c: number | string }>;
		const pq = this.db(this.t.products).select('sku', 'name', 'low_stock_threshold', 'fixed_content');
		if (only) pq.where({ sku: only });
		const products = await pq;
		const bySku = new Map<string, StockRow>();
		const rowFor = (s: string): StockRow => {
			let r = bySku.get(s);
			if (!r) {
				r = { sku: s, name: null, lowStockThreshold: null, unlimited: false, available: 0, assigned: 0, revoked: 0, void: 0, total: 0 };
				bySku.set(s, r);
			}
			return r;
		};
		for (const p of products) {
			const r = rowFor(p.sku);
			r.name = p.name;
			r.lowStockThreshold = p.low_stock_threshold === null ? null : Number(p.low_stock_threshold);
			r.unlimited = !!p.fixed_content;
		}
		for (const c of counts) {
			const r = rowFor(c.sku);
			const n = Number(c.c);
			if (c.status in r) (r as unknown as Record<string, number>)[c.status] += n;
			r.total += n;
		}
		return [...bySku.values()].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
	}

	/** Keys of a sku, masked, newest import order first is not assumed: ordered by id. */
	async listKeys(input: { sku: string; status?: KeyStatus | null; limit?: number; offset?: number }): Promise<ListedKey[]> {
		const sku = requireId('sku', input.sku, 'SKU');
		const limit = input.limit === undefined ? 100 : positiveInt('limit', input.limit, 10000, 'Limit');
		const offset = input.offset ? optionalNonNegativeInt('offset', input.offset) ?? 0 : 0;
		const q = this.db(`${this.t.keys} as k`)
			.leftJoin(`${this.t.deliveries} as d`, 'd.id', 'k.delivery_id')
			.where('k.sku', sku)
			.select('k.id', 'k.sku', 'k.status', 'k.secret', 'k.batch_id', 'k.delivery_id', 'k.created_at', 'd.order_id', 'd.shop')
			.orderBy('k.id')
			.limit(limit)
			.offset(offset);
		if (input.status) q.andWhere('k.status', checkStatus(input.status));
		const rows = await q;
		return rows.map((r: Record<string, unknown>) => ({
			id: Number(r.id),
			sku: String(r.sku),
			status: r.status as KeyStatus,
			masked: maskKey(unseal(this.km, String(r.secret))),
			batchId: String(r.batch_id),
			deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
			orderId: (r.order_id as string | null) ?? null,
			shop: r.shop ? String(r.shop) : null,
			createdAt: isoReq(r.created_at),
		}));
	}

	/** Decrypted keys for a backup, in pages, by id. */
	async *exportKeys(input: { sku?: string | null; status?: KeyStatus | null; pageSize?: number } = {}): AsyncGenerator<ExportedKey> {
		const sku = input.sku ? requireId('sku', input.sku, 'SKU') : null;
		const status = input.status ? checkStatus(input.status) : null;
		const page = input.pageSize ?? 1000;
		let after = 0;
		for (;;) {
			const q = this.db(`${this.t.keys} as k`)
				.leftJoin(`${this.t.deliveries} as d`, 'd.id', 'k.delivery_id')
				.where('k.id', '>', after)
				.select('k.id', 'k.sku', 'k.status', 'k.secret', 'k.batch_id', 'k.created_at', 'd.order_id', 'd.shop')
				.orderBy('k.id')
				.limit(page);
			if (sku) q.andWhere('k.sku', sku);
			if (status) q.andWhere('k.status', status);
			const rows = await q;
			if (!rows.length) return;
			for (const r of rows) {
				yield {
					id: Number(r.id),
					sku: r.sku,
					key: unseal(this.km, r.secret),
					status: r.status,
					batchId: r.batch_id,
					orderId: r.order_id ?? null,
					shop: r.shop ? String(r.shop) : null,
					createdAt: isoReq(r.created_at),
				};
			}
			after = Number(rows[rows.length - 1].id);
		}
	}

	/** Voids keys that are still available (never assigned, revoked or already void ones). */
	async voidKeys(input: VoidInput): Promise<{ sku: string; voided: number; requested: number | null }> {
		const sku = requireId('sku', input.sku, 'SKU');
		const ids = input.ids?.map((v) => positiveInt('ids', v, Number.MAX_SAFE_INTEGER, 'Key ID'));
		const fps = input.keys?.map((k) => normaliseKey(String(k))).filter((k) => k !== '').map((k) => fingerprint(this.km, k));
		const batchId = input.batchId ? requireId('batchId', input.batchId, 'Batch ID') : null;
		if (!ids?.length && !fps?.length && !batchId && input.all !== true) {
			throw new ValidationError('selector', 'Say which keys to void: key IDs, key values, a batch ID, or all available keys of the SKU.');
		}
		const reason = optionalText('reason', input.reason, 255);
		const now = Date.now();
		let voided = 0;
		await this.tx(async (trx) => {
			const q = trx(this.t.keys).where({ sku }).whereRaw(AVAILABLE);
			if (ids?.length) q.whereIn('id', ids);
			if (fps?.length) q.whereIn('fingerprint', fps);
			if (batchId) q.andWhere({ batch_id: batchId });
			voided = Number(await q.update({ status: 'void', voided_at: now }));
			await this.event(trx, 'voided', { sku, count: voided, actor: input.actor, details: { reason, batchId, byIds: ids?.length ?? 0, byKeys: fps?.length ?? 0 } });
		});
		const requested = ids?.length ?? fps?.length ?? null;
		return { sku, voided, requested };
	}

	// ---------------------------------------------------------------- sending and shipping (DESIGN §1.4)

	/** A delivery by id, or by order id + sku. Throws a not_found StoreError naming what was looked for. */
	async findDelivery(ref: { deliveryId?: number | string | null; orderId?: string | null; shop?: string | null; sku?: string | null }): Promise<DeliveryWithKeys> {
		let row: DeliveryRow | undefined;
		if (ref.deliveryId !== undefined && ref.deliveryId !== null && ref.deliveryId !== '') {
			const id = positiveInt('deliveryId', ref.deliveryId, Number.MAX_SAFE_INTEGER, 'Delivery ID');
			row = (await this.db(this.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
			if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
		} else {
			const orderId = requireId('orderId', ref.orderId, 'Order ID');
			const shop = shopId(ref.shop);
			const q = this.db(this.t.deliveries).where({ shop, order_id: orderId }).whereNot({ sku: ORDER_WIDE_SKU });
			if (ref.sku) q.andWhere({ sku: requireId('sku', ref.sku, 'SKU') });
			const rows = (await q.orderBy('id')) as DeliveryRow[];
			if (rows.length === 0) {
				throw await this.notFoundInShop(shop, orderId, ref.sku ?? null);
			}
			if (rows.length > 1) {
				throw new ValidationError('sku', `${orderLabel(shop, orderId)} has ${rows.length} lines (${rows.map((r) => r.sku).join(', ')}): give the SKU or the delivery ID.`);
			}
			row = rows[0];
		}
		return this.withKeys(row, false);
	}

	/**
	 * Takes the right to send a delivery's content to the buyer (a lease, so two workers processing
	 * the same order never both send). `resend` sends again even if it was sent before.
	 *
	 * - `go`: send now with `delivery` (keys revealed), then call markSent or markSendFailed with `token`.
	 * - `already_sent`: a send was recorded before (only without `resend`): send nothing.
	 * - `revoked`: the order was refunded: never send.
	 * - `busy`: another sender still holds the lease after `waitMs`.
	 * Waits while another sender holds the lease, then looks again (its send may succeed or fail).
	 */
	async beginSend(
		deliveryId: number,
		opts: { resend?: boolean; leaseMs?: number; waitMs?: number } = {},
	): Promise<
		| { kind: 'go'; token: string; delivery: DeliveryWithKeys }
		| { kind: 'already_sent' | 'revoked' | 'busy'; delivery: DeliveryWithKeys }
	> {
		const leaseMs = opts.leaseMs ?? DEFAULT_SEND_LEASE_MS;
		const deadline = Date.now() + (opts.waitMs ?? leaseMs + 5000);
		for (let attempt = 0; ; attempt++) {
			const row = await this.revokeStraggler(await this.deliveryRow(deliveryId));
			if (row.status === 'revoked') return { kind: 'revoked', delivery: await this.withKeys(row, false) };
			// "Sent" is the recorded send, not the status: a delivery marked shipped without a recorded
			// send (the seller's override) has still never been sent to the buyer.
			if (!opts.resend && row.sent_at !== null && row.sent_at !== undefined) {
				return { kind: 'already_sent', delivery: await this.withKeys(row, false) };
			}
			const token = randomUUID();
			const now = Date.now();
			const taken = await retryBusy(async () => {
				const q = this.db(this.t.deliveries)
					.where({ id: deliveryId })
					.whereIn('status', ['claimed', 'sent', 'shipped'])
					.andWhere((b) => b.whereNull('send_lock_until').orWhere('send_lock_until', '<', now));
				if (!opts.resend) q.whereNull('sent_at');
				return Number(await q.update({ send_lock_until: now + leaseMs, send_token: token }));
			});
			if (taken === 1) return { kind: 'go', token, delivery: await this.withKeys(await this.deliveryRow(deliveryId), true) };
			if (Date.now() > deadline) return { kind: 'busy', delivery: await this.withKeys(await this.deliveryRow(deliveryId), false) };
			await sleep(Math.min(250, 25 + attempt * 25) + randomInt(0, 25));
		}
	}

	/**
	 * Records that the buyer was sent the content (DESIGN §1.4: "sent" is a recorded state).
	 * claimed → sent; a resend keeps the status and counts. A send that finished after a refund is
	 * still recorded (the buyer saw the keys) but leaves the status revoked.
	 */
	async markSent(
		deliveryId: number,
		token: string | null,
		info: { channel: string; messageId?: string | null; recipient?: string | null; actor?: Actor },
	): Promise<Delivery> {
		const channel = optionalText('channel', info.channel, 32) ?? 'unknown';
		const messageId = optionalText('messageId', info.messageId, 255);
		await this.tx(async (trx) => {
			const row = (await this.lockRow(trx, deliveryId)) as DeliveryRow;
			const now = Date.now();
			const patch: Record<string, unknown> = {
				sent_at: row.sent_at ?? now,
				sent_channel: channel,
				sent_message_id: messageId,
				send_count: Number(row.send_count ?? 0) + 1,
				last_error: null,
				updated_at: now,
			};
			if (row.status === 'claimed') patch.status = 'sent';
			if (token && row.send_token === token) Object.assign(patch, { send_lock_until: null, send_token: null });
			await trx(this.t.deliveries).where({ id: deliveryId }).update(patch);
			await this.event(trx, 'sent', {
				sku: row.sku,
				orderId: row.order_id,
				shop: row.shop,
				deliveryId,
				count: row.quantity,
				actor: info.actor,
				details: { channel, messageId, resend: Number(row.send_count ?? 0) > 0, afterRevoke: row.status === 'revoked' || undefined },
			});
		});
		return mapDelivery(await this.deliveryRow(deliveryId));
	}

	/** Records a failed send (the error text is scrubbed of the delivery's keys) and frees the lease. */
	async markSendFailed(deliveryId: number, token: string | null, info: { channel: string; error: string; actor?: Actor }): Promise<Delivery> {
		const channel = optionalText('channel', info.channel, 32) ?? 'unknown';
		const error = await this.scrub(deliveryId, info.error);
		await this.tx(async (trx) => {
			const row = (await this.lockRow(trx, deliveryId)) as DeliveryRow;
			const patch: Record<string, unknown> = { last_error: error, updated_at: Date.now() };
			if (token && row.send_token === token) Object.assign(patch, { send_lock_until: null, send_token: null });
			await trx(this.t.deliveries).where({ id: deliveryId }).update(patch);
			await this.event(trx, 'send_failed', { sku: row.sku, orderId: row.order_id, shop: row.shop, deliveryId, actor: info.actor, details: { channel, error } });
		});
		return mapDelivery(await this.deliveryRow(deliveryId));
	}

	/**
	 * Takes the right to mark a delivery shipped on the shop (a lease: one shop call per delivery).
	 *
	 * - `go`: call the shop, then markShipped or markShipFailed with `token`.
	 * - `already_shipped`: nothing to do (idempotent).
	 * - `not_sent`: `requireSent` is on and no send was recorded — shipping now would be fake shipping.
	 * - `revoked`: the order was refunded.
	 * - `busy`: another worker still holds the lease after `waitMs`.
	 */
	async beginShip(
		deliveryId: number,
		opts: { requireSent?: boolean; leaseMs?: number; waitMs?: number; reveal?: boolean; actor?: Actor } = {},
	): Promise<
		| { kind: 'go'; token: string; delivery: DeliveryWithKeys }
		| { kind: 'already_shipped' | 'not_sent' | 'revoked' | 'busy'; delivery: DeliveryWithKeys }
	> {
		const requireSent = opts.requireSent !== false;
		const leaseMs = opts.leaseMs ?? DEFAULT_SHIP_LEASE_MS;
		const deadline = Date.now() + (opts.waitMs ?? leaseMs + 5000);
		for (let attempt = 0; ; attempt++) {
			const row = await this.revokeStraggler(await this.deliveryRow(deliveryId), opts.actor);
			if (row.status === 'revoked') return { kind: 'revoked', delivery: await this.withKeys(row, false) };
			if (row.status === 'shipped') return { kind: 'already_shipped', delivery: await this.withKeys(row, false) };
			if (row.status === 'claimed' && requireSent) {
				await this.event(this.db, 'ship_refused', {
					sku: row.sku, orderId: row.order_id, shop: row.shop, deliveryId, actor: opts.actor, details: { reason: 'not_sent' },
				});
				return { kind: 'not_sent', delivery: await this.withKeys(row, false) };
			}
			const token = randomUUID();
			const now = Date.now();
			const taken = await retryBusy(async () => {
				const q = this.db(this.t.deliveries)
					.where({ id: deliveryId })
					.whereIn('status', requireSent ? ['sent'] : ['sent', 'claimed'])
					.andWhere((b) => b.whereNull('ship_lock_until').orWhere('ship_lock_until', '<', now));
				return Number(await q.update({ ship_lock_until: now + leaseMs, ship_token: token, ship_attempts: this.db.raw('ship_attempts + 1') }));
			});
			if (taken === 1) return { kind: 'go', token, delivery: await this.withKeys(await this.deliveryRow(deliveryId), opts.reveal === true) };
			if (Date.now() > deadline) return { kind: 'busy', delivery: await this.withKeys(await this.deliveryRow(deliveryId), false) };
			await sleep(Math.min(250, 25 + attempt * 25) + randomInt(0, 25));
		}
	}

	/** Records that the shop accepted the shipment (or, with recordOnly, that the seller shipped it). */
	async markShipped(
		deliveryId: number,
		token: string | null,
		info: { shopReference?: string | null; recordOnly?: boolean; actor?: Actor } = {},
	): Promise<Delivery> {
		const shopReference = optionalText('shopReference', info.shopReference, 255);
		await this.tx(async (trx) => {
			const row = (await this.lockRow(trx, deliveryId)) as DeliveryRow;
			if (row.status === 'shipped') return;
			const now = Date.now();
			const patch: Record<string, unknown> = { shipped_at: now, shop_reference: shopReference, last_error: null, updated_at: now };
			// A refund that arrived while the shop call was in flight keeps the delivery revoked.
			if (row.status !== 'revoked') patch.status = 'shipped';
			if (token && row.ship_token === token) Object.assign(patch, { ship_lock_until: null, ship_token: null });
			await trx(this.t.deliveries).where({ id: deliveryId }).update(patch);
			await this.event(trx, 'shipped', {
				sku: row.sku,
				orderId: row.order_id,
				shop: row.shop,
				deliveryId,
				count: row.quantity,
				actor: info.actor,
				details: {
					shopReference,
					recordOnly: info.recordOnly === true,
					withoutRecordedSend: row.sent_at === null || row.sent_at === undefined ? true : undefined,
					afterRevoke: row.status === 'revoked' || undefined,
				},
			});
		});
		return mapDelivery(await this.deliveryRow(deliveryId));
	}

	/** Records a failed shop call (scrubbed of keys) and frees the lease; the delivery stays sent. */
	async markShipFailed(deliveryId: number, token: string | null, info: { error: string; status?: number | null; actor?: Actor }): Promise<Delivery> {
		const error = await this.scrub(deliveryId, info.error);
		await this.tx(async (trx) => {
			const row = (await this.lockRow(trx, deliveryId)) as DeliveryRow;
			const patch: Record<string, unknown> = { last_error: error, updated_at: Date.now() };
			if (token && row.ship_token === token) Object.assign(patch, { ship_lock_until: null, ship_token: null });
			await trx(this.t.deliveries).where({ id: deliveryId }).update(patch);
			await this.event(trx, 'ship_failed', { sku: row.sku, orderId: row.order_id, shop: row.shop, deliveryId, actor: info.actor, details: { error, status: info.status ?? undefined } });
		});
		return mapDelivery(await this.deliveryRow(deliveryId));
	}

	// ---------------------------------------------------------------- refunds (DESIGN §1.5)

	/**
	 * Revokes an order's keys on refund: one result per order line (or one tombstone when nothing was
	 * delivered yet, so a late "paid" retry answers `revoked`). Revoked keys stay linked to the order
	 * forever. With `returnUnsent`, keys nothing ever tried to hand over (no send recorded, in flight,
	 * failed or crashed, no shop call) go back to stock instead. Idempotent: a revoked line answers
	 * `alreadyRevoked`. Without a sku every line is revoked and an order-wide tombstone blocks lines
	 * not claimed yet.
	 */
	async revoke(input: { orderId: string; shop?: string | null; sku?: string | null; reason?: string | null; returnUnsent?: boolean; reveal?: boolean; actor?: Actor }): Promise<RevokeResult[]> {
		const orderId = requireId('orderId', input.orderId, 'Order ID');
		const shop = shopId(input.shop);
		const shopOut = shop === DEFAULT_SHOP ? null : shop;
		const sku = input.sku === undefined || input.sku === null || String(input.sku).trim() === '' ? null : requireId('sku', input.sku, 'SKU');
		if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU: leave the SKU empty to revoke the whole order.`);
		const reason = optionalText('reason', input.reason, 255) ?? 'refund';
		const returnUnsent = input.returnUnsent === true;
		type Line = Omit<RevokeResult, 'keys' | 'buyer' | 'quantity' | 'shop'> & { deliveryRowId: number };
		const pass = () => this.tx(async (trx) => {
			const out: Line[] = [];
			const now = Date.now();
			const q = trx(this.t.deliveries).where({ shop, order_id: orderId }).orderBy('id');
			if (sku) q.whereIn('sku', [sku, ORDER_WIDE_SKU]);
			if (this.kind !== 'sqlite') q.forUpdate();
			const rows = (await q) as DeliveryRow[];
			const targets = rows.filter((r) => r.sku !== ORDER_WIDE_SKU && (sku === null || r.sku === sku));
			const orderWide = rows.find((r) => r.sku === ORDER_WIDE_SKU);
			const present = (v: unknown) => v !== null && v !== undefined;
			// What the record still shows of attempts to hand the keys over (revoking clears the leases).
			const handedOver = (row: DeliveryRow) =>
				present(row.sent_at) || Number(row.send_count ?? 0) > 0 || present(row.last_error) || present(row.shipped_at) || Number(row.ship_attempts ?? 0) > 0;
			for (const row of targets) {
				if (row.status === 'revoked') {
					out.push({ orderId, sku: row.sku, deliveryId: row.id, deliveryRowId: row.id, tombstone: Number(row.quantity) === 0, alreadyRevoked: true, previousStatus: 'revoked', buyerSaw: handedOver(row), revokedKeyIds: [], returnedKeyIds: [], reason: row.revoke_reason });
					continue;
				}
				// The buyer saw (or may have seen) the keys once anything tried to hand them over: a recorded
				// send, a send lease (in flight, or left behind by a sender that crashed after sending), a
				// failed send (the failure may come after the message went out), or a shop call (Mark
				// Shipped may carry the content). Only keys nothing ever tried to hand over may go back.
				const buyerSaw =
					row.status !== 'claimed' ||
					handedOver(row) ||
					present(row.send_lock_until) ||
					present(row.send_token) ||
					present(row.ship_lock_until);
				const keyRows = (await trx(this.t.keys).where({ delivery_id: row.id }).whereIn('status', ['assigned', 'revoked']).orderBy('id').select('id', 'status')) as Array<{ id: number; status: KeyStatus }>;
				const ids = keyRows.filter((k) => k.status === 'assigned').map((k) => Number(k.id));
				const giveBack = returnUnsent && !buyerSaw;
				if (ids.length) {
					const upd = giveBack
						? { status: 'available', delivery_id: null, assigned_at: null }
						: { status: 'revoked', revoked_at: now };
					await trx(this.t.keys).whereIn('id', ids).andWhere({ status: 'assigned' }).update(upd);
				}
				await trx(this.t.deliveries).where({ id: row.id }).update({ status: 'revoked', revoked_at: now, revoke_reason: reason, updated_at: now, send_lock_until: null, send_token: null, ship_lock_until: null, ship_token: null });
				await this.event(trx, 'revoked', {
					sku: row.sku, orderId, shop, deliveryId: row.id, count: ids.length, actor: input.actor,
					details: { reason, previousStatus: row.status, buyerSaw, revokedKeyIds: giveBack ? [] : ids, returnedKeyIds: giveBack ? ids : [], fixedContent: !!row.content || undefined },
				});
				out.push({ orderId, sku: row.sku, deliveryId: row.id, deliveryRowId: row.id, tombstone: false, alreadyRevoked: false, previousStatus: row.status, buyerSaw, revokedKeyIds: giveBack ? [] : ids, returnedKeyIds: giveBack ? ids : [], reason });
			}
			// Tombstone: the line (sku given, nothing delivered for it) or the whole order (no sku).
			const needTombstone = !orderWide && (sku === null || targets.length === 0);
			if (needTombstone) {
				const tombSku = sku ?? ORDER_WIDE_SKU;
				const id = await this.dialect.insertDeliveryIgnore(trx, this.t, {
					order_id: orderId, sku: tombSku, quantity: 0, status: 'revoked', strategy: null, content: null,
					buyer_id: null, buyer_name: null, buyer_email: null, buyer_ip: null, amount: null, shop,
					created_at: now, updated_at: now, revoked_at: now, revoke_reason: reason,
				});
				// A claim committed this line a moment ago: run again and revoke it.
				if (id === null) throw new RevokeRace();
				await this.event(trx, 'revoked', { sku: tombSku, orderId, shop, deliveryId: id, count: 0, actor: input.actor, details: { reason, tombstone: true } });
				if (sku || targets.length === 0) {
					out.push({ orderId, sku: tombSku, deliveryId: id, deliveryRowId: id, tombstone: true, alreadyRevoked: false, previousStatus: null, buyerSaw: false, revokedKeyIds: [], returnedKeyIds: [], reason });
				}
			} else if (targets.length === 0 && orderWide) {
				out.push({ orderId, sku: sku ?? ORDER_WIDE_SKU, deliveryId: orderWide.id, deliveryRowId: orderWide.id, tombstone: true, alreadyRevoked: true, previousStatus: 'revoked', buyerSaw: false, revokedKeyIds: [], returnedKeyIds: [], reason: orderWide.revoke_reason });
			}
			return out;
		}, RevokeRace);
		let lines = await pass();
		if (sku === null) {
			// A claim of a new line that read the order before the order-wide tombstone committed may
			// commit its line just after (PostgreSQL / MySQL; SQLite serialises both). Look once more
			// and revoke what arrived; beginSend / beginShip revoke any later straggler before it can
			// reach the buyer.
			const late = (await pass()).filter((l) => !l.alreadyRevoked && !l.tombstone);
			lines = [...lines.filter((l) => !late.some((x) => x.sku === l.sku)), ...late];
		}
		const results: RevokeResult[] = [];
		for (const l of lines) {
			const { deliveryRowId, ...rest } = l;
			const d = await this.withKeys(await this.deliveryRow(deliveryRowId), input.reveal === true && !l.tombstone);
			// Keys given back to stock are no longer this order's: report their ids only.
			const keys = l.tombstone ? [] : d.keys.filter((k) => k.id === null || !l.returnedKeyIds.includes(k.id));
			results.push({ ...rest, shop: shopOut, keys, buyer: d.buyer, quantity: d.quantity });
		}
		return results;
	}

	// ---------------------------------------------------------------- internals for the lifecycle

	/**
	 * A live line of an order refunded as a whole (order-wide tombstone): a claim that read the order
	 * just before the refund committed it just after. Revoke it now, before anything hands it over.
	 */
	private async revokeStraggler(row: DeliveryRow, actor?: Actor): Promise<DeliveryRow> {
		if (row.status === 'revoked' || row.sku === ORDER_WIDE_SKU) return row;
		const tomb = (await this.db(this.t.deliveries).where({ shop: row.shop, order_id: row.order_id, sku: ORDER_WIDE_SKU, status: 'revoked' }).first('revoke_reason')) as { revoke_reason: string | null } | undefined;
		if (!tomb) return row;
		await this.revoke({ orderId: row.order_id, shop: row.shop, sku: row.sku, reason: tomb.revoke_reason ?? 'refund', actor });
		return this.deliveryRow(row.id);
	}

	/** "No delivery for …", naming the shops that do have this order id (the seller may have picked the wrong one). */
	private async notFoundInShop(shop: string, orderId: string, sku: string | null): Promise<StoreError> {
		const q = this.db(this.t.deliveries).where({ order_id: orderId }).whereNot({ shop }).whereNot({ sku: ORDER_WIDE_SKU }).distinct('shop').limit(5);
		if (sku) q.andWhere({ sku });
		const others = ((await q) as Array<{ shop: string | null }>).map((r) => (r.shop ? `"${r.shop}"` : 'the default shop (no shop)'));
		const what = `${orderLabel(shop, orderId).replace(/^Order/, 'order')}${sku ? ` / ${sku}` : ''}`;
		const hint = others.length ? ` This order ID exists in ${others.join(', ')}: set the Shop to look there.` : '';
		return new StoreError(`No delivery for ${what} in this key store.${hint}`, 'not_found');
	}

	private async deliveryRow(id: number): Promise<DeliveryRow> {
		const row = (await this.db(this.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
		if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
		return row;
	}

	/** The delivery row, locked for the rest of the transaction (SQLite: the transaction already holds the write lock). */
	private async lockRow(trx: Knex.Transaction, id: number): Promise<DeliveryRow> {
		const q = trx(this.t.deliveries).where({ id });
		if (this.kind !== 'sqlite') q.forUpdate();
		const row = (await q.first()) as DeliveryRow | undefined;
		if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
		return row;
	}

	/** An error text with every key of the delivery masked, then shortened for storage (never shortened first: a cut key would not match). */
	private async scrub(deliveryId: number, text: string): Promise<string> {
		try {
			const d = await this.withKeys(await this.deliveryRow(deliveryId), true);
			return redactAndClip(String(text ?? ''), d.keys.map((k) => k.key ?? ''), 1000);
		} catch (err) {
			if (err instanceof StoreError && err.code === 'not_found') throw err;
			return '(error text withheld: the delivery keys could not be read to scrub it)';
		}
	}

	/** Audit events, newest first. With an order id, only that order of `shop` (default: the default shop). */
	async listEvents(input: { orderId?: string; shop?: string | null; sku?: string; type?: string; limit?: number } = {}): Promise<StoreEvent[]> {
		const q = this.db(this.t.events).orderBy('id', 'desc').limit(input.limit ?? 100);
		if (input.orderId) q.where({ order_id: input.orderId, shop: shopId(input.shop) });
		if (input.sku) q.where({ sku: input.sku });
		if (input.type) q.where({ type: input.type });
		const rows = await q;
		return rows.map((r: Record<string, unknown>) => ({
			id: Number(r.id),
			at: isoReq(r.at),
			type: String(r.type),
			sku: (r.sku as string) ?? null,
			orderId: (r.order_id as string) ?? null,
			deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
			shop: r.shop === null || r.shop === undefined || r.shop === DEFAULT_SHOP ? null : String(r.shop),
			count: r.count === null ? null : Number(r.count),
			actor: (r.actor as string) ?? null,
			details: r.details ? JSON.parse(String(r.details)) : null,
		}));
	}
}

// ---------------------------------------------------------------- helpers

function checkStatus(s: string): KeyStatus {
	if (s === 'available' || s === 'assigned' || s === 'revoked' || s === 'void') return s;
	throw new ValidationError('status', 'Status must be available, assigned, revoked or void.');
}

/** "order 1001" for the default shop, "order 1001 of shop tmall:main" otherwise (messages). */
export function orderLabel(shop: string | null | undefined, orderId: string): string {
	return shop ? `Order ${orderId} of shop ${shop}` : `Order ${orderId}`;
}

function actorText(a?: Actor): string | null {
	if (!a) return null;
	const parts: string[] = [];
	if (a.workflowId) parts.push(`workflow:${a.workflowId}`);
	if (a.executionId) parts.push(`execution:${a.executionId}`);
	if (a.node) parts.push(`node:${a.node}`);
	return parts.length ? parts.join(' ').slice(0, 255) : null;
}

function mapProduct(row: Record<string, unknown>): Product {
	return {
		sku: String(row.sku),
		name: String(row.name),
		lowStockThreshold: row.low_stock_threshold === null || row.low_stock_threshold === undefined ? null : Number(row.low_stock_threshold),
		hasFixedContent: !!row.fixed_content,
		createdAt: isoReq(row.created_at),
		updatedAt: isoReq(row.updated_at),
	};
}

function mapDelivery(r: DeliveryRow): Delivery {
	return {
		id: Number(r.id),
		orderId: r.order_id,
		sku: r.sku,
		quantity: Number(r.quantity),
		status: r.status,
		strategy: r.strategy,
		fixedContent: !!r.content,
		buyer: { id: r.buyer_id, name: r.buyer_name, email: r.buyer_email, ip: r.buyer_ip },
		amount: r.amount === null || r.amount === undefined ? null : Number(r.amount),
		shop: r.shop === null || r.shop === undefined || r.shop === DEFAULT_SHOP ? null : r.shop,
		createdAt: isoReq(r.created_at),
		updatedAt: isoReq(r.updated_at),
		sentAt: ISO(r.sent_at),
		sentChannel: r.sent_channel,
		sentMessageId: r.sent_message_id,
		shippedAt: ISO(r.shipped_at),
		shopReference: r.shop_reference,
		revokedAt: ISO(r.revoked_at),
		revokeReason: r.revoke_reason,
		lastError: r.last_error,
		sendCount: Number(r.send_count ?? 0),
		shipAttempts: Number(r.ship_attempts ?? 0),
	};
}

// ---------------------------------------------------------------- opening

function isLockedOrRace(err: unknown): boolean {
	if (err instanceof StoreError) return false; // our own refusal (e.g. migration 005's identity check): final
	const e = err as { name?: string; code?: string; message?: string; errno?: number };
	const msg = String(e?.message ?? '');
	return (
		e?.name === 'MigrationLocked' ||
		/already exists|duplicate|SQLITE_BUSY|database is locked|Migration table is already locked/i.test(msg) ||
		e?.code === '23505' || // unique violation (pg catalog race)
		e?.code === '42P07' || // duplicate table
		e?.errno === 1050 || // table exists
		e?.errno === 1062 || // duplicate entry
		e?.code === 'SQLITE_BUSY'
	);
}

/**
 * Applies migrations. PostgreSQL / MySQL serialise concurrent openers with a session-level
 * advisory lock (released by the server if the process dies); SQLite relies on knex's migration
 * lock plus retries on "already exists / busy".
 */
async function migrate(db: Knex, kind: DatabaseKind, t: TableNames): Promise<void> {
	const source = new KeyStoreMigrations(t);
	const run = async () => {
		const [, pending] = (await db.migrate.list({ migrationSource: source, tableName: t.migrations })) as [unknown[], unknown[]];
		if (pending.length === 0) return;
		await db.migrate.latest({ migrationSource: source, tableName: t.migrations });
	};
	const lockName = `n8n-nodes-auto-delivery:${t.migrations}`;
	const deadline = Date.now() + 60000;
	let lockedSince = 0;
	for (let attempt = 1; ; attempt++) {
		try {
			if (kind === 'sqlite') {
				try {
					await run();
				} catch (err) {
					// SQLite runs each migration inside a transaction that takes the file's write lock, so
					// two openers can never both apply it; knex's lock row only adds a way to get stuck
					// (a busy error while knex frees it leaves it set). A lock row still set after a few
					// seconds — far longer than these migrations take — is stale: clear it and go on.
					if ((err as { name?: string })?.name !== 'MigrationLocked') throw err;
					lockedSince ||= Date.now();
					if (Date.now() - lockedSince < 3000) throw err;
					await db.migrate.forceFreeMigrationsLock({ migrationSource: source, tableName: t.migrations });
					lockedSince = 0;
					await run();
				}
			} else {
				await withAdvisoryLock(db, kind, lockName, async () => {
					try {
						await run();
					} catch (err) {
						// Holding the advisory lock proves nobody else migrates: a knex lock left by a crashed opener is stale.
						if ((err as { name?: string })?.name === 'MigrationLocked') {
							await db.migrate.forceFreeMigrationsLock({ migrationSource: source, tableName: t.migrations });
							await run();
						} else throw err;
					}
				});
			}
			return;
		} catch (err) {
			if (isLockedOrRace(err) && Date.now() < deadline) {
				await sleep(50 + randomInt(0, 150));
				continue;
			}
			if ((err as { name?: string })?.name === 'MigrationLocked') {
				throw new StoreError(
					`The key store's migration lock is held (table ${t.migrations}_lock). If no other n8n process is starting up, a crash left it behind: set is_locked = 0 in that table.`,
				);
			}
			throw err;
		}
	}
}

async function withAdvisoryLock(db: Knex, kind: DatabaseKind, name: string, fn: () => Promise<void>): Promise<void> {
	const conn = await db.client.acquireConnection();
	try {
		if (kind === 'postgres') {
			await db.raw('SELECT pg_advisory_lock(hashtext(?))', [name]).connection(conn);
		} else {
			const [rows] = await db.raw('SELECT GET_LOCK(?, 60) AS ok', [name.slice(0, 64)]).connection(conn);
			if (Number(rows[0]?.ok) !== 1) throw Object.assign(new Error('Migration table is already locked'), { name: 'MigrationLocked' });
		}
		try {
			await fn();
		} finally {
			if (kind === 'postgres') await db.raw('SELECT pg_advisory_unlock(hashtext(?))', [name]).connection(conn);
			else await db.raw('SELECT RELEASE_LOCK(?)', [name.slice(0, 64)]).connection(conn);
		}
	} finally {
		await db.client.releaseConnection(conn);
	}
}

/** Reads (or, for a new store, creates) the salt and canary; fails loudly on a wrong secret. */
async function loadKeyMaterial(db: Knex, t: TableNames, secret: string): Promise<KeyMaterial> {
	const read = async (name: string): Promise<string | undefined> => (await db(t.meta).where({ name }).first())?.value;
	let salt = await read('kdf_salt');
	if (!salt) {
		await db(t.meta).insert({ name: 'kdf_salt', value: newSalt() }).onConflict('name').ignore();
		salt = (await read('kdf_salt')) as string;
	}
	const km = deriveKeys(secret, salt);
	let canary = await read('canary');
	if (!canary) {
		await db(t.meta).insert({ name: 'canary', value: makeCanary(km) }).onConflict('name').ignore();
		canary = (await read('canary')) as string;
	}
	checkCanary(km, canary);
	await db(t.meta).insert({ name: 'schema', value: LATEST_MIGRATION }).onConflict('name').merge();
	return km;
}
