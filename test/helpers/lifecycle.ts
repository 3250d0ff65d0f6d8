/** The delivery lifecycle tests' shared pieces (leases.test.ts, refunds.test.ts). */
import type { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';

export const LIFE_KEY = (i: number) => `LIFE-${String(i).padStart(4, '0')}-SECRET-${(i * 7919).toString(36).toUpperCase()}`;

export async function claimOne(store: KeyStore, orderId: string, sku: string, quantity = 1) {
	const r = await store.claim({ orderId, sku, quantity, buyer: { id: `b-${orderId}`, email: `${orderId.toLowerCase()}@example.com` } });
	if (!r.delivered) throw new Error(`claim ${orderId} not delivered: ${r.reason}`);
	return r.delivery;
}

export async function keyRows(store: KeyStore, where: Record<string, unknown>) {
	return (await internals(store).db(internals(store).t.keys).where(where).orderBy('id').select('id', 'status', 'delivery_id')) as Array<{ id: number; status: string; delivery_id: number | null }>;
}

export async function allText(store: KeyStore): Promise<string> {
	const parts: string[] = [];
	for (const t of [internals(store).t.events, internals(store).t.deliveries]) parts.push(JSON.stringify(await internals(store).db(t).select('*')));
	return parts.join('\n');
}
