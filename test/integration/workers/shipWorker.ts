/**
 * A separate OS process that opens a store and marks deliveries shipped with N in flight (the
 * core ship algorithm of Mark Shipped, calling the real shop peer), for the multi-process
 * "one shop call per delivery" race (the harness is test/helpers/processes.ts). Results never carry
 * key text.
 */
import type { StoreConfig } from '../../../nodes/core/store';
import { KeyStore } from '../../../nodes/core/store';
import { shipDelivery, type ShipRequest, type ShopTarget } from '../../../nodes/core/delivery';
import { raceWorkers, serveWorker } from '../../helpers/processes';

export interface ShipJob {
	deliveryId: number;
	shop: ShopTarget;
	request: ShipRequest;
}

export interface ShipJobResult {
	deliveryId: number;
	pid: number;
	outcome?: string;
	alreadyShipped?: boolean;
	attempts?: number;
	error?: string;
}

async function runShip(store: KeyStore, j: ShipJob): Promise<ShipJobResult> {
	try {
		const o = await shipDelivery(store, { deliveryId: j.deliveryId, shop: j.shop, request: j.request });
		return o.outcome === 'shipped'
			? { deliveryId: j.deliveryId, pid: process.pid, outcome: o.outcome, alreadyShipped: o.alreadyShipped, attempts: o.attempts }
			: { deliveryId: j.deliveryId, pid: process.pid, outcome: o.outcome };
	} catch (err) {
		return { deliveryId: j.deliveryId, pid: process.pid, error: String((err as Error)?.message ?? err) };
	}
}

/** One OS process per job list; all open the store first, then start together. */
export function raceShips(cfg: StoreConfig, perProcess: ShipJob[][], inFlight: number): Promise<ShipJobResult[][]> {
	return raceWorkers(__filename, 'AD_SHIP_WORKER_CONFIG', cfg, perProcess, inFlight);
}

serveWorker<StoreConfig, KeyStore, ShipJob, ShipJobResult>('AD_SHIP_WORKER_CONFIG', (cfg) => KeyStore.open(cfg), runShip, (store) => store.close());
