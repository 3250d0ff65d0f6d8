/**
 * Notices that go out at most once per order (migration 006, table `notices`, unique
 * (shop, order_id, kind)): the delay notice ("we are processing your order").
 *
 * The rule: the row is written BEFORE the message is sent, so of any number of senders (executions,
 * workers, processes) exactly one gets to send. Its states:
 *
 *   (none) ── beginNotice inserts ──▶ sending ── finishNotice ──▶ sent      (final: never again)
 *                                        │                  └────▶ failed    (the send failed)
 *                                        └─ a crash leaves it `sending` (final: it may have gone out)
 *   failed ── beginNotice takes it over (conditional update) ──▶ sending
 *
 * Only a recorded failure is tried again. A sender that crashed mid-send may have delivered the
 * message, so its `sending` row is never taken over: the buyer may miss a notice, but never gets
 * two. `at` is the time of the last state change and the sender's token: a sender finishes only
 * the row it took (status sending, at = its own).
 */
import { requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { isoReq } from './rows';
import type { Actor } from './types';

export type NoticeKind = 'delay' | 'follow_up';
export type NoticeStatus = 'sending' | 'sent' | 'failed';

export interface NoticeRef {
	orderId: string;
	shop?: string | null;
	kind: NoticeKind;
}

export interface Notice {
	orderId: string;
	shop: string | null;
	kind: NoticeKind;
	status: NoticeStatus;
	channel: string | null;
	at: string;
}

/** beginNotice's answer: `go` (send, then finishNotice with `token`), or why nothing may be sent. */
export type NoticeLease =
	| { kind: 'go'; token: number; retry: boolean }
	| { kind: 'sent' | 'sending'; notice: Notice };

/** A unique-key violation on any of the three databases. */
export function isUniqueViolation(err: unknown): boolean {
	const e = err as { code?: string; errno?: number; message?: string } | null;
	if (!e) return false;
	return e.code === '23505' || e.errno === 1062 || e.code === 'ER_DUP_ENTRY' || (e.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(String(e.message)));
}

function keyOf(ref: NoticeRef) {
	return { shop: shopId(ref.shop), order_id: requireId('orderId', ref.orderId, 'Order ID'), kind: ref.kind };
}

export async function getNotice(ctx: StoreContext, ref: NoticeRef): Promise<Notice | null> {
	const row = await ctx.db(ctx.t.notices).where(keyOf(ref)).first();
	return row ? mapNotice(row) : null;
}

/** Takes the right to send the order's notice of this kind: inserts `sending`, or takes over a `failed` one. */
export async function beginNotice(ctx: StoreContext, ref: NoticeRef, channel: string): Promise<NoticeLease> {
	const key = keyOf(ref);
	for (let round = 0; round < 5; round++) {
		const now = Date.now();
		try {
			await ctx.db(ctx.t.notices).insert({ ...key, status: 'sending', channel, at: now });
			return { kind: 'go', token: now, retry: false };
		} catch (err) {
			if (!isUniqueViolation(err)) throw err;
		}
		const row = await ctx.db(ctx.t.notices).where(key).first();
		if (!row) continue; // never deleted; only a concurrent insert that rolled back
		if (row.status !== 'failed') return { kind: row.status === 'sent' ? 'sent' : 'sending', notice: mapNotice(row) };
		// The token must change with the takeover: a later failure of the old sender finishes nothing.
		const token = Math.max(now, Number(row.at) + 1);
		const n = await ctx.db(ctx.t.notices).where({ id: row.id, status: 'failed', at: row.at }).update({ status: 'sending', channel, at: token });
		if (Number(n) === 1) return { kind: 'go', token, retry: true };
	}
	const row = await ctx.db(ctx.t.notices).where(key).first();
	return { kind: 'sending', notice: mapNotice(row) };
}

/**
 * Records the outcome of the send begun with `token`: `sent` (final) or `failed` (may be tried
 * again). Returns false when the row is not this sender's any more (nothing is changed then).
 */
export async function finishNotice(
	ctx: StoreContext,
	ref: NoticeRef,
	token: number,
	outcome: { status: 'sent' | 'failed'; channel: string; sku?: string | null; messageId?: string | null; error?: string | null; actor?: Actor },
): Promise<boolean> {
	const key = keyOf(ref);
	return ctx.tx(async (trx) => {
		const n = await trx(ctx.t.notices).where({ ...key, status: 'sending', at: token }).update({ status: outcome.status, channel: outcome.channel, at: Math.max(Date.now(), token) });
		if (Number(n) !== 1) return false;
		await ctx.event(trx, `${ref.kind}_notice_${outcome.status}`, {
			orderId: key.order_id,
			shop: key.shop,
			sku: outcome.sku ?? null,
			actor: outcome.actor,
			details: { channel: outcome.channel, ...(outcome.messageId ? { messageId: outcome.messageId } : {}), ...(outcome.error ? { error: outcome.error.slice(0, 500) } : {}) },
		});
		return true;
	});
}

function mapNotice(r: Record<string, unknown>): Notice {
	return {
		orderId: String(r.order_id),
		shop: r.shop === null || r.shop === undefined || r.shop === '' ? null : String(r.shop),
		kind: r.kind as NoticeKind,
		status: r.status as NoticeStatus,
		channel: (r.channel as string) ?? null,
		at: isoReq(r.at),
	};
}
