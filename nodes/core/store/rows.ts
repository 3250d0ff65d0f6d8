/** Delivery rows as stored, their mapping to the public Delivery, and timestamp helpers. */
import { DEFAULT_SHOP } from '../validate';
import type { Strategy } from './dialects';
import type { Delivery, DeliveryStatus } from './types';

export const ISO = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
export const isoReq = (ms: unknown): string => new Date(Number(ms)).toISOString();

/** A delivery as stored (snake_case columns, times in ms). */
export interface DeliveryRow {
	id: number;
	order_id: string;
	sku: string;
	quantity: number;
	status: DeliveryStatus;
	/** 'api' (EXTERNAL_STRATEGY) for External API content. */
	strategy: Strategy | 'api' | null;
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
	viewed_at?: number | null;
	view_count?: number | null;
	view_window_at?: number | null;
	view_window_count?: number | null;
	follow_up_at?: number | null;
}

export function mapDelivery(r: DeliveryRow): Delivery {
	return {
		id: Number(r.id),
		orderId: r.order_id,
		sku: r.sku,
		quantity: Number(r.quantity),
		status: r.status,
		strategy: r.strategy === 'api' ? null : r.strategy,
		fixedContent: !!r.content && r.strategy !== 'api',
		externalApi: r.strategy === 'api',
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
