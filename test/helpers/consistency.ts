import type { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';

/**
 * Reads the store directly and checks the promises: every assigned key belongs to exactly one
 * existing delivery, every delivery holds exactly `quantity` keys, nothing is lost.
 */
export async function assertStoreConsistent(store: KeyStore, sku: string, poolSize: number): Promise<{ assigned: number; available: number; deliveries: number }> {
	const t = internals(store).t;
	const keys = (await internals(store).db(t.keys).where({ sku }).select('id', 'status', 'delivery_id')) as Array<{ id: number; status: string; delivery_id: number | null }>;
	const deliveries = (await internals(store).db(t.deliveries).where({ sku }).select('id', 'quantity', 'status')) as Array<{ id: number; quantity: number; status: string }>;
	expect(keys.length).toBe(poolSize); // none lost, none invented
	const byDelivery = new Map<number, number>();
	let available = 0;
	let assigned = 0;
	for (const k of keys) {
		if (k.status === 'available') {
			available++;
			expect(k.delivery_id).toBeNull();
		} else if (k.status === 'assigned') {
			assigned++;
			expect(k.delivery_id).not.toBeNull();
			byDelivery.set(Number(k.delivery_id), (byDelivery.get(Number(k.delivery_id)) ?? 0) + 1);
		} else {
			throw new Error(`unexpected key status ${k.status}`);
		}
	}
	const ids = new Set(deliveries.map((d) => Number(d.id)));
	for (const id of byDelivery.keys()) expect(ids.has(id)).toBe(true);
	for (const d of deliveries) {
		expect(d.status).toBe('claimed');
		expect(byDelivery.get(Number(d.id)) ?? 0).toBe(Number(d.quantity)); // all-or-nothing
	}
	return { assigned, available, deliveries: deliveries.length };
}
