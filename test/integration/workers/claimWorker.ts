/**
 * A separate OS process that opens a store and claims orders with N in flight, for the
 * multi-process race tests. Protocol over IPC: → {type:'ready'} after open; ← {type:'go', orders,
 * inFlight}; → {type:'done', results}. Results carry key ids only, never key text.
 */
import { KeyStore, type Strategy } from '../../../nodes/core/KeyStore';

interface Order { orderId: string; sku: string; quantity: number; strategy: Strategy }
export interface WorkerResult { orderId: string; delivered: boolean; alreadyDelivered?: boolean; reason?: string; keyIds: number[]; error?: string }

async function main() {
	const cfg = JSON.parse(process.env.AD_WORKER_CONFIG as string);
	const store = await KeyStore.open(cfg);
	const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
	process.on('message', async (msg: { type: string; orders: Order[]; inFlight: number }) => {
		if (msg.type !== 'go') return;
		const results: WorkerResult[] = [];
		let next = 0;
		const lane = async () => {
			while (next < msg.orders.length) {
				const o = msg.orders[next++];
				try {
					const r = await store.claim(o);
					results.push(r.delivered
						? { orderId: o.orderId, delivered: true, alreadyDelivered: r.alreadyDelivered, keyIds: r.delivery.keys.map((k) => k.id as number) }
						: { orderId: o.orderId, delivered: false, reason: r.reason, keyIds: [] });
				} catch (err) {
					results.push({ orderId: o.orderId, delivered: false, keyIds: [], error: String((err as Error).message) });
				}
			}
		};
		await Promise.all(Array.from({ length: msg.inFlight }, lane));
		await store.close();
		await send({ type: 'done', results });
		process.exit(0);
	});
	await send({ type: 'ready' });
}

main().catch(async (err) => {
	process.send?.({ type: 'failed', error: String(err?.message ?? err) });
	process.exit(1);
});
