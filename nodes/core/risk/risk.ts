/**
 * Risk Check (DESIGN §6): blocklists, per-buyer / per-IP / per-email order rates over time
 * windows, a maximum quantity, and an amount review threshold. Each breach is a Reject or a Review
 * as the seller chooses; the decision is Reject if any breach rejects, else Review if any reviews,
 * else Pass. Every decision is recorded (risk log + audit event).
 *
 * Counting is atomic across concurrent executions and workers: one transaction per evaluation
 * locks one row per subject (buyer id, email, IP) before counting, so 50 orders from one buyer at
 * once with a limit of 5 let exactly 5 through. An order line is evaluated once: evaluating the
 * same order id + line again (webhook retry, second worker) returns the recorded decision and
 * counts nothing. Other lines of the same order are not counted as further orders.
 */
import type { Knex } from 'knex';

import { StoreError, ValidationError } from '../errors';
import { type Actor, type KeyStore, orderLabel } from '../store/KeyStore';
import { DEFAULT_SHOP, optionalAmount, optionalNonNegativeInt, optionalText, requireId, shopId } from '../validate';
import { ID_MAX } from '../store/schema';

export type RiskAction = 'reject' | 'review';
export type RiskDecision = 'pass' | 'review' | 'reject';
export type BlockKind = 'buyer' | 'email' | 'ip';
export const BLOCK_KINDS: readonly BlockKind[] = ['buyer', 'email', 'ip'];

export interface RateRule {
	/** Orders allowed within the window (this one included): the (max+1)-th breaches. */
	max: number;
	windowMinutes: number;
	action: RiskAction;
}

export interface RiskRules {
	/** Check the blocklist for the buyer id, email and IP. */
	blocklist?: { action: RiskAction } | null;
	perBuyer?: RateRule | null;
	perIp?: RateRule | null;
	perEmail?: RateRule | null;
	/** Quantity above `max` breaches. */
	maxQuantity?: { max: number; action: RiskAction } | null;
	/** Amount ≥ `threshold` breaches (usually Review). */
	amount?: { threshold: number; action: RiskAction } | null;
}

export interface RiskInput {
	orderId: string;
	/** The order line (sku) when Risk Check runs per line; empty for a whole order. */
	line?: string | null;
	buyerId?: string | null;
	email?: string | null;
	ip?: string | null;
	/** Kept with the decision so a held order line can be approved later (Approve Held Order). */
	buyerName?: string | null;
	/** The order's shop (part of its identity (shop, orderId, line)); empty: the default shop. */
	shop?: string | null;
	quantity?: number | string | null;
	amount?: number | string | null;
	actor?: Actor;
}

export interface RiskReason {
	rule: 'blocklist' | 'buyer_rate' | 'ip_rate' | 'email_rate' | 'max_quantity' | 'amount';
	action: RiskAction;
	message: string;
}

export interface RiskResult {
	decision: RiskDecision;
	reasons: RiskReason[];
	/** The decision recorded when this order line was first evaluated (nothing counted now). */
	replayed: boolean;
	/** The line was held, then approved by the seller: it passes now (`heldAs` tells what it was held as). */
	approved?: boolean;
	heldAs?: RiskDecision;
	orderId: string;
	/** null: the default shop. */
	shop: string | null;
	line: string;
}

const MAX_WINDOW_MINUTES = 60 * 24 * 366;

function normalise(kind: BlockKind, value: unknown): string | null {
	const label = kind === 'buyer' ? 'Buyer ID' : kind === 'email' ? 'Email' : 'IP';
	const v = optionalText(kind, value, ID_MAX);
	if (v === null) return null;
	if (/[\u0000-\u001f\u007f]/.test(v)) throw new ValidationError(kind, `${label} contains control characters.`);
	return kind === 'buyer' ? v : v.toLowerCase();
}

function checkAction(field: string, a: unknown): RiskAction {
	if (a === 'reject' || a === 'review') return a;
	throw new ValidationError(field, `${field} must be "reject" or "review".`);
}

function checkRate(field: string, r: RateRule | null | undefined): RateRule | null {
	if (!r) return null;
	const max = optionalNonNegativeInt(`${field}.max`, r.max);
	const windowMinutes = Number(r.windowMinutes);
	if (max === null) throw new ValidationError(`${field}.max`, `${field}: the maximum number of orders is required.`);
	if (!Number.isFinite(windowMinutes) || windowMinutes <= 0 || windowMinutes > MAX_WINDOW_MINUTES) {
		throw new ValidationError(`${field}.windowMinutes`, `${field}: the window must be more than 0 and at most ${MAX_WINDOW_MINUTES} minutes.`);
	}
	return { max, windowMinutes, action: checkAction(`${field}.action`, r.action) };
}

/** Validates rules up front (bad configuration changes nothing). */
export function checkRules(rules: RiskRules): RiskRules {
	const out: RiskRules = {
		blocklist: rules.blocklist ? { action: checkAction('blocklist.action', rules.blocklist.action) } : null,
		perBuyer: checkRate('perBuyer', rules.perBuyer),
		perIp: checkRate('perIp', rules.perIp),
		perEmail: checkRate('perEmail', rules.perEmail),
		maxQuantity: null,
		amount: null,
	};
	if (rules.maxQuantity) {
		const max = optionalNonNegativeInt('maxQuantity.max', rules.maxQuantity.max);
		if (max === null) throw new ValidationError('maxQuantity.max', 'The maximum quantity is required.');
		out.maxQuantity = { max, action: checkAction('maxQuantity.action', rules.maxQuantity.action) };
	}
	if (rules.amount) {
		const threshold = optionalAmount('amount.threshold', rules.amount.threshold);
		if (threshold === null) throw new ValidationError('amount.threshold', 'The amount threshold is required.');
		out.amount = { threshold, action: checkAction('amount.action', rules.amount.action) };
	}
	return out;
}

interface LogRow {
	decision: RiskDecision;
	reasons: string | null;
	approved_at: number | string | null;
}

/** Evaluates one order (line) against the rules, atomically, and records the decision. */
export async function evaluateRisk(store: KeyStore, input: RiskInput, rulesIn: RiskRules): Promise<RiskResult> {
	const rules = checkRules(rulesIn);
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const line = input.line === undefined || input.line === null || String(input.line).trim() === '' ? '' : requireId('line', input.line, 'SKU');
	const buyerId = normalise('buyer', input.buyerId);
	const email = normalise('email', input.email);
	const ip = normalise('ip', input.ip);
	const quantity = input.quantity === undefined || input.quantity === null || input.quantity === '' ? null : optionalNonNegativeInt('quantity', input.quantity);
	const amount = optionalAmount('amount', input.amount);
	const buyerName = optionalText('buyerName', input.buyerName, 255);
	const shop = shopId(input.shop);
	const shopOut = shop === DEFAULT_SHOP ? null : shop;
	const t = store.t;

	const subjects: Array<{ kind: BlockKind; value: string; rule: RateRule | null | undefined; column: string; name: RiskReason['rule']; label: string }> = [];
	if (buyerId) subjects.push({ kind: 'buyer', value: buyerId, rule: rules.perBuyer, column: 'buyer_id', name: 'buyer_rate', label: `buyer ${buyerId}` });
	if (email) subjects.push({ kind: 'email', value: email, rule: rules.perEmail, column: 'buyer_email', name: 'email_rate', label: `email ${email}` });
	if (ip) subjects.push({ kind: 'ip', value: ip, rule: rules.perIp, column: 'buyer_ip', name: 'ip_rate', label: `IP ${ip}` });

	// A line the seller approved (Approve Held Order) passes from then on: the shop's retry of it is delivered.
	const replay = (row: LogRow): RiskResult => ({
		decision: row.approved_at !== null && row.approved_at !== undefined ? 'pass' : row.decision,
		...(row.approved_at !== null && row.approved_at !== undefined ? { approved: true, heldAs: row.decision } : {}),
		reasons: row.reasons ? (JSON.parse(row.reasons) as RiskReason[]) : [],
		replayed: true,
		orderId,
		shop: shopOut,
		line,
	});

	return store.tx(async (trx) => {
		const seen = (await trx(t.riskLog).where({ shop, order_id: orderId, line }).first('decision', 'reasons', 'approved_at')) as LogRow | undefined;
		if (seen) return replay(seen);

		// One lock row per rate-limited subject, taken in a fixed order (no deadlocks between workers).
		const locked = subjects.filter((s) => s.rule).sort((a, b) => (a.kind + a.value < b.kind + b.value ? -1 : 1));
		for (const s of locked) await lockSubject(store, trx, s.kind, s.value);
		// Re-check after waiting for the locks: another worker may have evaluated this very line.
		if (locked.length) {
			const again = (await trx(t.riskLog).where({ shop, order_id: orderId, line }).first('decision', 'reasons', 'approved_at')) as LogRow | undefined;
			if (again) return replay(again);
		}

		const now = Date.now();
		const reasons: RiskReason[] = [];
		if (rules.blocklist && subjects.length) {
			const q = trx(t.blocklist).select('kind', 'value', 'reason');
			q.where((b) => {
				for (const s of subjects) b.orWhere((w) => w.where({ kind: s.kind, value: s.value }));
			});
			for (const hit of (await q) as Array<{ kind: BlockKind; value: string; reason: string | null }>) {
				reasons.push({
					rule: 'blocklist',
					action: rules.blocklist.action,
					message: `${hit.kind === 'buyer' ? 'Buyer' : hit.kind === 'email' ? 'Email' : 'IP'} ${hit.value} is on the blocklist${hit.reason ? ` (${hit.reason})` : ''}.`,
				});
			}
		}
		for (const s of locked) {
			const rule = s.rule as RateRule;
			const since = now - rule.windowMinutes * 60000;
			// Distinct orders, an order being (shop, order_id): shop A's 1001 and shop B's 1001 are two.
			const orders = trx(t.riskLog)
				.distinct('shop', 'order_id')
				.where(s.column, s.value)
				.andWhere('at', '>=', since)
				.whereNot('decision', 'reject')
				.whereNot((w) => w.where({ shop, order_id: orderId }));
			const row = await trx.count({ c: '*' }).from(orders.as('o')).first();
			const before = Number(row?.c ?? 0);
			if (before + 1 > rule.max) {
				reasons.push({
					rule: s.name,
					action: rule.action,
					message: `Too many orders from ${s.label}: ${before + 1} within ${rule.windowMinutes} minutes (at most ${rule.max}).`,
				});
			}
		}
		if (rules.maxQuantity && quantity !== null && quantity > rules.maxQuantity.max) {
			reasons.push({ rule: 'max_quantity', action: rules.maxQuantity.action, message: `Quantity ${quantity} is above the maximum of ${rules.maxQuantity.max} per order.` });
		}
		if (rules.amount && amount !== null && amount >= rules.amount.threshold) {
			reasons.push({ rule: 'amount', action: rules.amount.action, message: `Amount ${amount} is at or above the review threshold of ${rules.amount.threshold}.` });
		}
		const decision: RiskDecision = reasons.some((r) => r.action === 'reject') ? 'reject' : reasons.length ? 'review' : 'pass';
		// Without a rate rule nothing serialises two evaluations of this very line: the unique
		// (shop, order_id, line) key does. The loser runs again and replays the winner's decision.
		await insertOnce(trx(t.riskLog), {
			at: now,
			order_id: orderId,
			line,
			buyer_id: buyerId,
			buyer_email: email,
			buyer_ip: ip,
			buyer_name: buyerName,
			shop,
			quantity,
			amount,
			decision,
			reasons: reasons.length ? JSON.stringify(reasons) : null,
		});
		await store.event(trx, 'risk_decision', {
			sku: line || null,
			orderId,
			shop,
			actor: input.actor,
			details: { decision, rules: reasons.map((r) => r.rule) },
		});
		return { decision, reasons, replayed: false, orderId, shop: shopOut, line };
	}, SameLineRace);
}

// ---------------------------------------------------------------- approving held orders

/** A held order line, as recorded by Risk Check, in the Shop Webhook item shape (for Claim Key). */
export interface ApprovedLine {
	orderId: string;
	sku: string;
	quantity: number | null;
	amount: number | null;
	shop: string | null;
	buyer: { id: string | null; name: string | null; email: string | null; ip: string | null };
	risk: { decision: RiskDecision; reasons: RiskReason[]; approved: true; alreadyApproved: boolean; approvedAt: string };
}

/**
 * The seller approves an order line that Risk Check held (Review, or Reject as an explicit
 * override): records the approval (audit event `risk_approved`) and returns the line as recorded,
 * ready for Claim Key. Approving again answers `alreadyApproved`. A line that passed, or that was
 * never evaluated, is refused (nothing to approve; nothing changes).
 */
export async function approveHeld(store: KeyStore, input: { orderId: string; shop?: string | null; line?: string | null; note?: string | null; actor?: Actor }): Promise<ApprovedLine> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const shop = shopId(input.shop);
	const line = input.line === undefined || input.line === null || String(input.line).trim() === '' ? '' : requireId('line', input.line, 'SKU');
	const note = optionalText('note', input.note, 255);
	const t = store.t;
	return store.tx(async (trx) => {
		const q = trx(t.riskLog).where({ shop, order_id: orderId, line });
		if (store.kind !== 'sqlite') q.forUpdate();
		const row = (await q.first()) as Record<string, unknown> | undefined;
		const what = `${orderLabel(shop, orderId)}${line ? ` / ${line}` : ''}`;
		if (!row) throw new StoreError(`${what} was never checked by Risk Check, so there is nothing to approve. Check the order ID and SKU.`, 'not_found');
		const decision = row.decision as RiskDecision;
		if (decision === 'pass') throw new ValidationError('orderId', `${what} passed Risk Check; it was not held, so there is nothing to approve.`);
		const already = row.approved_at !== null && row.approved_at !== undefined;
		const approvedAt = already ? Number(row.approved_at) : Date.now();
		if (!already) {
			await trx(t.riskLog).where({ shop, order_id: orderId, line }).update({ approved_at: approvedAt });
			await store.event(trx, 'risk_approved', { sku: line || null, orderId, shop, actor: input.actor, details: { decision, note } });
		}
		return {
			orderId,
			sku: line,
			quantity: row.quantity === null || row.quantity === undefined ? null : Number(row.quantity),
			amount: row.amount === null || row.amount === undefined ? null : Number(row.amount),
			shop: shop === DEFAULT_SHOP ? null : shop,
			buyer: {
				id: (row.buyer_id as string | null) ?? null,
				name: (row.buyer_name as string | null) ?? null,
				email: (row.buyer_email as string | null) ?? null,
				ip: (row.buyer_ip as string | null) ?? null,
			},
			risk: {
				decision,
				reasons: row.reasons ? (JSON.parse(String(row.reasons)) as RiskReason[]) : [],
				approved: true,
				alreadyApproved: already,
				approvedAt: new Date(approvedAt).toISOString(),
			},
		};
	});
}

/** Another evaluation of the same order line committed first: run again (and replay its decision). */
class SameLineRace extends Error {}

function isUniqueViolation(err: unknown): boolean {
	const e = err as { code?: string; errno?: number; message?: string };
	return e?.code === '23505' || e?.errno === 1062 || (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(String(e?.message)));
}

async function insertOnce(q: Knex.QueryBuilder, row: Record<string, unknown>): Promise<void> {
	try {
		await q.insert(row);
	} catch (err) {
		if (isUniqueViolation(err)) throw new SameLineRace();
		throw err;
	}
}

async function lockSubject(store: KeyStore, trx: Knex.Transaction, kind: BlockKind, value: string): Promise<void> {
	const t = store.t;
	if (store.kind === 'mysql') {
		await trx.raw('INSERT INTO ?? (kind, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE kind = kind', [t.riskLocks, kind, value]);
	} else {
		await trx(t.riskLocks).insert({ kind, value }).onConflict(['kind', 'value']).ignore();
	}
	// SQLite: the transaction already holds the database's write lock (BEGIN IMMEDIATE).
	if (store.kind !== 'sqlite') await trx(t.riskLocks).where({ kind, value }).forUpdate().first();
}

// ---------------------------------------------------------------- blocklist

export interface BlockEntry {
	kind: BlockKind;
	value: string;
	reason: string | null;
	createdAt: string;
}

function checkKind(kind: unknown): BlockKind {
	if (kind === 'buyer' || kind === 'email' || kind === 'ip') return kind;
	throw new ValidationError('kind', 'Type must be Buyer ID, Email or IP.');
}

export async function addToBlocklist(store: KeyStore, input: { kind: BlockKind; value: string; reason?: string | null; actor?: Actor }): Promise<BlockEntry & { added: boolean }> {
	const kind = checkKind(input.kind);
	const value = normalise(kind, input.value);
	if (value === null) throw new ValidationError('value', 'The value to block is required.');
	const reason = optionalText('reason', input.reason, 255);
	const now = Date.now();
	let added = false;
	await store.tx(async (trx) => {
		added = false;
		const existing = await trx(store.t.blocklist).where({ kind, value }).first('id');
		if (existing) {
			if (reason !== null) await trx(store.t.blocklist).where({ kind, value }).update({ reason });
		} else {
			// Two concurrent adds of one value: the loser runs again and finds the entry.
			await insertOnce(trx(store.t.blocklist), { kind, value, reason, created_at: now });
			added = true;
		}
		await store.event(trx, 'blocklisted', { actor: input.actor, details: { kind, added } });
	}, SameLineRace);
	const row = await store.db(store.t.blocklist).where({ kind, value }).first();
	return { ...mapBlock(row), added };
}

export async function removeFromBlocklist(store: KeyStore, input: { kind: BlockKind; value: string; actor?: Actor }): Promise<{ kind: BlockKind; value: string; removed: boolean }> {
	const kind = checkKind(input.kind);
	const value = normalise(kind, input.value);
	if (value === null) throw new ValidationError('value', 'The value to unblock is required.');
	let removed = 0;
	await store.tx(async (trx) => {
		removed = Number(await trx(store.t.blocklist).where({ kind, value }).delete());
		await store.event(trx, 'unblocklisted', { actor: input.actor, details: { kind, removed: removed > 0 } });
	});
	return { kind, value, removed: removed > 0 };
}

export async function listBlocklist(store: KeyStore, input: { kind?: BlockKind | null; limit?: number } = {}): Promise<BlockEntry[]> {
	const q = store.db(store.t.blocklist).orderBy('id').limit(input.limit ?? 1000);
	if (input.kind) q.where({ kind: checkKind(input.kind) });
	return ((await q) as Array<Record<string, unknown>>).map(mapBlock);
}

function mapBlock(r: Record<string, unknown>): BlockEntry {
	return { kind: r.kind as BlockKind, value: String(r.value), reason: (r.reason as string | null) ?? null, createdAt: new Date(Number(r.created_at)).toISOString() };
}
