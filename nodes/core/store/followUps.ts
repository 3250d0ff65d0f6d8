/**
 * Follow-ups (migration 006, `deliveries.follow_up_at`): one message, N hours after a delivery was
 * sent, asking whether the key worked (nodes/core/delivery/followUp.ts sends it).
 *
 * The rule (`followUpWindow`, `isFollowUpDue`): a delivery is due when its product has
 * `followUpAfterHours` set (null = off, the default), it is `sent` or `shipped` (never `revoked`,
 * never only `claimed`), `sent_at + followUpAfterHours ≤ now`, no follow-up was taken for it yet
 * (`follow_up_at IS NULL`), and it is not more than `maxLateHours` overdue (so switching follow-ups on
 * for a product does not write to every buyer of the past years, and a long pause of n8n does not
 * send stale messages).
 *
 * Taking is a conditional `UPDATE … SET follow_up_at = now WHERE id = ? AND follow_up_at IS NULL AND
 * status IN ('sent','shipped')`: of two schedule runs, workers or processes exactly one changes the
 * row, so a follow-up is never sent twice. It is taken before it is sent and never given back.
 */
import { retryBusy } from './connection';
import type { StoreContext } from './context';
import type { EventFields } from './events';
import { parseSettings, type ProductSettings } from './productSettings';
import { type DeliveryRow, mapDelivery } from './rows';
import type { Actor, Delivery, DeliveryStatus } from './types';

const HOUR = 3_600_000;
/** Statuses a follow-up may go to: the buyer was sent the content, and it was not refunded. */
export const FOLLOW_UP_STATUSES: readonly DeliveryStatus[] = ['sent', 'shipped'];
/** Default of `maxLateHours`: a follow-up more than a week overdue is not sent. */
export const DEFAULT_FOLLOW_UP_MAX_LATE_HOURS = 168;

export type FollowUpEvent = 'follow_up_sent' | 'follow_up_failed' | 'follow_up_skipped';

/** A product with follow-ups on. */
export interface FollowUpProduct {
	sku: string;
	name: string;
	settings: ProductSettings;
}

export interface DueQuery {
	/** The clock (epoch ms); injectable for tests. */
	now: number;
	/** Follow-ups more overdue than this are never sent. Default 168 (a week). */
	maxLateHours?: number;
	/** Only deliveries with a buyer email recorded (the email channel writes to it). */
	requireEmail?: boolean;
	limit: number;
}

/** A delivery whose follow-up this caller took, with its product's settings. */
export interface TakenFollowUp {
	delivery: Delivery;
	product: FollowUpProduct;
	/** The follow_up_at written (epoch ms). */
	takenAt: number;
}

export interface FollowUpStore {
	/** Products whose follow-up is on (followUpAfterHours set). */
	products(): Promise<FollowUpProduct[]>;
	/** Deliveries due now and not yet taken, oldest send first, with their product (see the rule above). */
	due(q: DueQuery): Promise<TakenFollowUp[]>;
	/** Takes the follow-up of one delivery: true for exactly one caller, false when taken, revoked or not sent. */
	take(deliveryId: number, now: number): Promise<boolean>;
	/** The delivery as it is now (no keys read): the re-check right before sending. */
	current(deliveryId: number): Promise<Delivery | null>;
	/** Appends follow_up_sent / follow_up_failed / follow_up_skipped (never a secret in details). */
	record(type: FollowUpEvent, delivery: Delivery, details: Record<string, unknown>, actor?: Actor): Promise<void>;
}

/** Sent-at bounds for a product's follow-ups at `now`: due when `from < sent_at ≤ until`. */
export function followUpWindow(afterHours: number, now: number, maxLateHours = DEFAULT_FOLLOW_UP_MAX_LATE_HOURS): { from: number; until: number } {
	const until = now - Math.round(afterHours * HOUR);
	return { from: until - Math.round(maxLateHours * HOUR), until };
}

/** The due rule for one delivery (what `due` asks the database). */
export function isFollowUpDue(
	d: { status: DeliveryStatus; sentAt: number | string | null; followUpAt: number | string | null },
	settings: Pick<ProductSettings, 'followUpAfterHours'> | null,
	now: number,
	maxLateHours = DEFAULT_FOLLOW_UP_MAX_LATE_HOURS,
): boolean {
	const hours = settings?.followUpAfterHours ?? null;
	if (hours === null || !(hours > 0)) return false;
	if (!FOLLOW_UP_STATUSES.includes(d.status)) return false;
	if (d.followUpAt !== null) return false;
	if (d.sentAt === null) return false;
	const sent = typeof d.sentAt === 'number' ? d.sentAt : Date.parse(d.sentAt);
	if (!Number.isFinite(sent)) return false;
	const { from, until } = followUpWindow(hours, now, maxLateHours);
	return sent <= until && sent > from;
}

export function followUpStore(ctx: StoreContext): FollowUpStore {
	const products = async (): Promise<FollowUpProduct[]> => {
		const rows = (await ctx.db(ctx.t.products).whereNotNull('settings').select('sku', 'name', 'settings')) as Array<{ sku: string; name: string; settings: string }>;
		return rows
			.map((r) => ({ sku: String(r.sku), name: String(r.name), settings: parseSettings(r.settings) }))
			.filter((p) => p.settings.followUpAfterHours !== null && p.settings.followUpAfterHours > 0);
	};
	return {
		products,
		async due(q) {
			const on = await products();
			if (on.length === 0) return [];
			const bySku = new Map(on.map((p) => [p.sku, p]));
			// One range per follow-up delay; products with the same delay share it.
			const byHours = new Map<number, string[]>();
			for (const p of on) byHours.set(p.settings.followUpAfterHours as number, [...(byHours.get(p.settings.followUpAfterHours as number) ?? []), p.sku]);
			// updated_at ≥ sent_at on every row (markSent writes both from one clock, later changes only
			// raise updated_at): the bound lets the (status, updated_at) index skip everything older.
			const oldest = Math.min(...[...byHours.keys()].map((h) => followUpWindow(h, q.now, q.maxLateHours).from));
			const query = ctx.db(ctx.t.deliveries)
				.whereIn('status', FOLLOW_UP_STATUSES as string[])
				.andWhere('updated_at', '>', oldest)
				.whereNull('follow_up_at')
				.whereNotNull('sent_at')
				.where((all) => {
					for (const [hours, skus] of byHours) {
						const { from, until } = followUpWindow(hours, q.now, q.maxLateHours);
						all.orWhere((w) => w.whereIn('sku', skus).andWhere('sent_at', '<=', until).andWhere('sent_at', '>', from));
					}
				});
			if (q.requireEmail) query.whereNotNull('buyer_email').andWhere('buyer_email', '<>', '');
			const rows = (await query.orderBy([{ column: 'sent_at' }, { column: 'id' }]).limit(q.limit)) as DeliveryRow[];
			return rows.map((r) => ({ delivery: mapDelivery(r), product: bySku.get(r.sku) as FollowUpProduct, takenAt: q.now }));
		},
		async take(deliveryId, now) {
			const n = await retryBusy(async () =>
				ctx.db(ctx.t.deliveries)
					.where({ id: deliveryId })
					.whereNull('follow_up_at')
					.whereIn('status', FOLLOW_UP_STATUSES as string[])
					.update({ follow_up_at: now }),
			);
			return Number(n) === 1;
		},
		async current(deliveryId) {
			const row = (await ctx.db(ctx.t.deliveries).where({ id: deliveryId }).first()) as DeliveryRow | undefined;
			return row ? mapDelivery(row) : null;
		},
		async record(type, d, details, actor) {
			const fields: EventFields = { sku: d.sku, orderId: d.orderId, shop: d.shop, deliveryId: d.id, count: d.quantity, actor, details };
			await ctx.event(ctx.db, type, fields);
		},
	};
}
