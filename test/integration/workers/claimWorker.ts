/**
 * A separate OS process that opens a store and claims orders with N in flight, for the
 * multi-process race tests (raceInProcesses in test/helpers/processes.ts). Results carry key ids
 * only, never key text.
 */
import type { StoreConfig } from '../../../nodes/core/store';
import { KeyStore, type Strategy } from '../../../nodes/core/store';
import { serveWorker } from '../../helpers/processes';

interface Order { orderId: string; sku: string; quantity: number; strategy: Strategy }
export interface WorkerResult { orderId: string; delivered: boolean; alreadyDelivered?: boolean; reason?: string; keyIds: number[]; error?: string }

serveWorker<StoreConfig, KeyStore, Order, WorkerResult>(
	'AD_WORKER_CONFIG',
	(cfg) => KeyStore.open(cfg),
	async (store, o) => {
		try {
			const r = await store.claim(o);
			return r.delivered
				? { orderId: o.orderId, delivered: true, alreadyDelivered: r.alreadyDelivered, keyIds: r.delivery.keys.map((k) => k.id as number) }
				: { orderId: o.orderId, delivered: false, reason: r.reason, keyIds: [] };
		} catch (err) {
			return { orderId: o.orderId, delivered: false, keyIds: [], error: String((err as Error).message) };
		}
	},
	(store) => store.close(),
);
