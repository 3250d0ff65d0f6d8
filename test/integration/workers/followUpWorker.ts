/**
 * A separate OS process that opens a store and takes due follow-ups (nodes/core/delivery/followUp.ts
 * takeNextFollowUp) until none is left, with N lanes in flight — for the multi-process "never twice"
 * race of test/integration/followUps.test.ts. Results are delivery ids only.
 */
import { takeNextFollowUp } from '../../../nodes/core/delivery';
import { KeyStore, type StoreConfig } from '../../../nodes/core/store';
import { raceWorkers, serveWorker } from '../../helpers/processes';

export interface TakeWork {
	now: number;
}

interface WorkerConfig {
	store: StoreConfig;
}

async function takeAll(store: KeyStore, w: TakeWork): Promise<number[]> {
	const ids: number[] = [];
	for (;;) {
		const t = await takeNextFollowUp(store, { now: w.now });
		if (!t) return ids;
		ids.push(t.delivery.id);
	}
}

/** One OS process per work list (each entry: one lane that takes until nothing is due); taken ids per process and lane. */
export function raceTakers(cfg: StoreConfig, perProcess: TakeWork[][], inFlight: number): Promise<number[][][]> {
	return raceWorkers(__filename, 'AD_FOLLOW_UP_WORKER_CONFIG', { store: cfg }, perProcess, inFlight);
}

serveWorker<WorkerConfig, KeyStore, TakeWork, number[]>('AD_FOLLOW_UP_WORKER_CONFIG', (c) => KeyStore.open(c.store), takeAll, (store) => store.close());
