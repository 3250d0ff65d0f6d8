/** The audit trail: appending events (who acted, never a secret) and reading them back. */
import type { Knex } from 'knex';

import { DEFAULT_SHOP, shopId } from '../validate';
import { retryBusy } from './connection';
import type { StoreContext } from './context';
import { isoReq } from './rows';
import type { Actor, EventQuery, StoreEvent } from './types';

export interface EventFields {
	sku?: string | null;
	orderId?: string | null;
	shop?: string | null;
	deliveryId?: number | null;
	count?: number | null;
	actor?: Actor;
	details?: Record<string, unknown>;
}

/** Appends an audit event (never pass a secret in details). */
export async function appendEvent(ctx: StoreContext, db: Knex | Knex.Transaction, type: string, fields: EventFields): Promise<void> {
	// Outside a transaction (db is the pool) a busy SQLite file is waited for; inside one, tx() retries.
	const insert = () => db(ctx.t.events).insert({
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
	await (db === ctx.db ? retryBusy(async () => insert()) : insert());
}

export function actorText(a?: Actor): string | null {
	if (!a) return null;
	const parts: string[] = [];
	if (a.workflowId) parts.push(`workflow:${a.workflowId}`);
	if (a.executionId) parts.push(`execution:${a.executionId}`);
	if (a.node) parts.push(`node:${a.node}`);
	return parts.length ? parts.join(' ').slice(0, 255) : null;
}

/** Audit events, newest first. With an order id, only that order of `shop` (default: the default shop). */
export async function listEvents(ctx: StoreContext, input: EventQuery = {}): Promise<StoreEvent[]> {
	const q = ctx.db(ctx.t.events).orderBy('id', 'desc').limit(input.limit ?? 100);
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
