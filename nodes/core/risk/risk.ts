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
import { StoreError, ValidationError } from '../errors';
import { type Actor, type BlockEntry, type BlockKind, type KeyStore, MAX_QUANTITY, type RecordedDecision, type RiskDecision, type WaitingLine, orderLabel } from '../store';
import { DEFAULT_SHOP, ID_MAX, optionalAmount, optionalNonNegativeInt, optionalText, requireId, shopId } from '../validate';

export type { BlockEntry, BlockKind, RiskDecision } from '../store';
export type RiskAction = 'reject' | 'review';
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

	const subjects: Array<{ kind: BlockKind; value: string; rule: RateRule | null | undefined; name: RiskReason['rule']; label: string }> = [];
	if (buyerId) subjects.push({ kind: 'buyer', value: buyerId, rule: rules.perBuyer, name: 'buyer_rate', label: `buyer ${buyerId}` });
	if (email) subjects.push({ kind: 'email', value: email, rule: rules.perEmail, name: 'email_rate', label: `email ${email}` });
	if (ip) subjects.push({ kind: 'ip', value: ip, rule: rules.perIp, name: 'ip_rate', label: `IP ${ip}` });

	// A line the seller approved (Approve Held Order) passes from then on: the shop's retry of it is delivered.
	const replay = (row: RecordedDecision): RiskResult => ({
		decision: row.approvedAt !== null ? 'pass' : row.decision,
		...(row.approvedAt !== null ? { approved: true, heldAs: row.decision } : {}),
		reasons: row.reasons as RiskReason[],
		replayed: true,
		orderId,
		shop: shopOut,
		line,
	});

	return store.risk.transaction({ shop, orderId, line }, async (h) => {
		const seen = await h.recorded();
		if (seen) return replay(seen);

		// One lock row per rate-limited subject, taken in a fixed order (no deadlocks between workers).
		const locked = subjects.filter((s) => s.rule).sort((a, b) => (a.kind + a.value < b.kind + b.value ? -1 : 1));
		for (const s of locked) await h.lockSubject(s.kind, s.value);
		// Re-check after waiting for the locks: another worker may have evaluated this very line.
		if (locked.length) {
			const again = await h.recorded();
			if (again) return replay(again);
		}

		const now = Date.now();
		const reasons: RiskReason[] = [];
		if (rules.blocklist && subjects.length) {
			for (const hit of await h.blocklistHits(subjects)) {
				reasons.push({
					rule: 'blocklist',
					action: rules.blocklist.action,
					message: `${hit.kind === 'buyer' ? 'Buyer' : hit.kind === 'email' ? 'Email' : 'IP'} ${hit.value} is on the blocklist${hit.reason ? ` (${hit.reason})` : ''}.`,
				});
			}
		}
		for (const s of locked) {
			const rule = s.rule as RateRule;
			// Distinct orders, an order being (shop, order_id): shop A's 1001 and shop B's 1001 are two.
			const before = await h.ordersSince(s.kind, s.value, now - rule.windowMinutes * 60000);
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
		await h.record({ at: now, buyerId, email, ip, buyerName, quantity, amount, decision, reasons });
		await h.event('risk_decision', {
			sku: line || null,
			orderId,
			shop,
			actor: input.actor,
			details: { decision, rules: reasons.map((r) => r.rule) },
		});
		return { decision, reasons, replayed: false, orderId, shop: shopOut, line };
	});
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
	return store.risk.transaction({ shop, orderId, line }, async (h) => {
		const row = await h.lockEntry();
		const what = `${orderLabel(shop, orderId)}${line ? ` / ${line}` : ''}`;
		if (!row) throw new StoreError(`${what} was never checked by Risk Check, so there is nothing to approve. Check the order ID and SKU.`, 'not_found');
		const decision = row.decision;
		if (decision === 'pass') throw new ValidationError('orderId', `${what} passed Risk Check; it was not held, so there is nothing to approve.`);
		const already = row.approvedAt !== null;
		const approvedAt = row.approvedAt ?? Date.now();
		if (!already) {
			await h.approve(approvedAt);
			await h.event('risk_approved', { sku: line || null, orderId, shop, actor: input.actor, details: { decision, note } });
		}
		return {
			orderId,
			sku: line,
			quantity: row.quantity,
			amount: row.amount,
			shop: shop === DEFAULT_SHOP ? null : shop,
			buyer: row.buyer,
			risk: {
				decision,
				reasons: row.reasons as RiskReason[],
				approved: true,
				alreadyApproved: already,
				approvedAt: new Date(approvedAt).toISOString(),
			},
		};
	});
}

// ---------------------------------------------------------------- blocklist

function checkKind(kind: unknown): BlockKind {
	if (kind === 'buyer' || kind === 'email' || kind === 'ip') return kind;
	throw new ValidationError('kind', 'Type must be Buyer ID, Email or IP.');
}

export async function addToBlocklist(store: KeyStore, input: { kind: BlockKind; value: string; reason?: string | null; actor?: Actor }): Promise<BlockEntry & { added: boolean }> {
	const kind = checkKind(input.kind);
	const value = normalise(kind, input.value);
	if (value === null) throw new ValidationError('value', 'The value to block is required.');
	const reason = optionalText('reason', input.reason, 255);
	return store.risk.block({ kind, value, reason, actor: input.actor });
}

export async function removeFromBlocklist(store: KeyStore, input: { kind: BlockKind; value: string; actor?: Actor }): Promise<{ kind: BlockKind; value: string; removed: boolean }> {
	const kind = checkKind(input.kind);
	const value = normalise(kind, input.value);
	if (value === null) throw new ValidationError('value', 'The value to unblock is required.');
	const removed = await store.risk.unblock({ kind, value, actor: input.actor });
	return { kind, value, removed };
}

export async function listBlocklist(store: KeyStore, input: { kind?: BlockKind | null; limit?: number } = {}): Promise<BlockEntry[]> {
	return store.risk.blocklist({ kind: input.kind ? checkKind(input.kind) : null, limit: input.limit ?? 1000 });
}

// ---------------------------------------------------------------- waiting lines of held orders

export interface WaitingEffect {
	/** held: the line is recorded as waiting for review; cancelled: a waiting line ended (rejected). */
	action: 'held' | 'cancelled' | 'none';
	/** The order line's waiting record after this decision (null when there is none). */
	line: WaitingLine | null;
}

/**
 * What a decision means for the line's waiting record (Risk Check → Evaluate with Track Waiting
 * Lines on): Review holds the order line (reason review) so the buyer can be told about the delay;
 * Reject cancels a line that was waiting; Pass changes nothing. A whole-order decision (no line)
 * holds nothing: a waiting line is an order line. Idempotent (a replayed decision holds the same line).
 */
export async function settleWaiting(
	store: KeyStore,
	r: RiskResult,
	line: { quantity?: number | string | null; amount?: number | string | null; buyer?: { id?: string | null; name?: string | null; email?: string | null; ip?: string | null }; paidAt?: string | number | null; actor?: Actor },
): Promise<WaitingEffect> {
	if (!r.line || r.decision === 'pass') return { action: 'none', line: null };
	if (r.decision === 'reject') {
		const ended = await store.endWaiting({ orderId: r.orderId, shop: r.shop, sku: r.line }, 'cancelled');
		if (!ended) return { action: 'none', line: null };
		const [line] = await store.listWaiting({ orderId: r.orderId, shop: r.shop, sku: r.line, status: 'cancelled' });
		return { action: 'cancelled', line: line ?? null };
	}
	// evaluateRisk checked the quantity (a whole number, or empty); 0 or empty: one
	const quantity = Math.max(1, Number(line.quantity ?? 0) || 0);
	// More than any claim may take: it can never be delivered as one line, so it does not wait.
	if (quantity > MAX_QUANTITY) return { action: 'none', line: null };
	const held = await store.holdLine({
		orderId: r.orderId,
		shop: r.shop,
		sku: r.line,
		quantity,
		reason: 'review',
		buyer: line.buyer,
		amount: line.amount,
		paidAt: line.paidAt,
		actor: line.actor,
	});
	return { action: held.line.status === 'waiting' ? 'held' : 'none', line: held.line };
}
