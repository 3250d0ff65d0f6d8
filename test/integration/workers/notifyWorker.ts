/**
 * A separate OS process that opens a store and sends deliveries with Notify Buyer's core
 * (`notifyDelivery`, email to the test's SMTP server), for the multi-process "exactly one mail"
 * race (the harness is test/helpers/processes.ts). Results carry ids, outcomes and message ids
 * only, never key text.
 */
import type { StoreConfig } from '../../../nodes/core/store';
import { KeyStore } from '../../../nodes/core/store';
import { closeAllTransports, type SmtpConfig } from '../../../nodes/core/outbound';
import { notifyDelivery } from '../../../nodes/core/delivery';
import { raceWorkers, serveWorker } from '../../helpers/processes';

export interface NotifyRaceResult {
	deliveryId: number;
	pid: number;
	outcome?: string;
	messageId?: string | null;
	error?: string;
}

async function sendOne(store: KeyStore, smtp: SmtpConfig, deliveryId: number): Promise<NotifyRaceResult> {
	try {
		const r = await notifyDelivery(store, { deliveryId, channel: { kind: 'email', smtp }, actor: { node: `worker-${process.pid}` } });
		return { deliveryId, pid: process.pid, outcome: r.outcome, messageId: r.notify.messageId };
	} catch (err) {
		return { deliveryId, pid: process.pid, error: String((err as Error)?.message ?? err) };
	}
}

/** One OS process per id list; all open the store first, then start together. */
export function raceNotify(cfg: StoreConfig, smtp: SmtpConfig, perProcess: number[][], inFlight: number): Promise<NotifyRaceResult[][]> {
	return raceWorkers(__filename, 'AD_NOTIFY_WORKER_CONFIG', { cfg, smtp }, perProcess, inFlight);
}

serveWorker<{ cfg: StoreConfig; smtp: SmtpConfig }, { store: KeyStore; smtp: SmtpConfig }, number, NotifyRaceResult>(
	'AD_NOTIFY_WORKER_CONFIG',
	async ({ cfg, smtp }) => ({ store: await KeyStore.open(cfg), smtp }),
	(w, deliveryId) => sendOne(w.store, w.smtp, deliveryId),
	async (w) => {
		closeAllTransports();
		await w.store.close();
	},
);
