/**
 * A separate OS process that opens a store and, per work item, sends an order's delay notice
 * (`sendDelayNotice`, email to the test's SMTP server) or completes a SKU's waiting lines
 * (`store.completeWaiting`), for the multi-process races of waiting.test.ts (the harness is
 * test/helpers/processes.ts). Results carry ids and outcomes only, never key text.
 */
import { sendDelayNotice } from '../../../nodes/core/delivery';
import { closeAllTransports, type SmtpConfig } from '../../../nodes/core/outbound';
import type { StoreConfig } from '../../../nodes/core/store';
import { KeyStore } from '../../../nodes/core/store';
import { raceWorkers, serveWorker } from '../../helpers/processes';

export type DelayWork = { op: 'notice'; orderId: string; sku: string } | { op: 'complete'; sku: string };

export interface DelayRaceResult {
	pid: number;
	op: DelayWork['op'];
	/** notice: sent, or the skip reason. */
	outcome?: string;
	/** complete: the order ids this completion delivered (and reported). */
	delivered?: string[];
	error?: string;
}

async function runOne(store: KeyStore, smtp: SmtpConfig, w: DelayWork): Promise<DelayRaceResult> {
	try {
		if (w.op === 'notice') {
			const r = await sendDelayNotice(store, { orderId: w.orderId, sku: w.sku, channel: { kind: 'email', smtp }, actor: { node: `worker-${process.pid}` } });
			return { pid: process.pid, op: w.op, outcome: r.sent ? 'sent' : r.skipped };
		}
		const r = await store.completeWaiting({ sku: w.sku, actor: { node: `worker-${process.pid}` } });
		return { pid: process.pid, op: w.op, delivered: r.delivered.map((d) => d.line.orderId) };
	} catch (err) {
		return { pid: process.pid, op: w.op, error: String((err as Error)?.message ?? err) };
	}
}

/** One OS process per work list; all open the store first, then start together. */
export function raceDelays(cfg: StoreConfig, smtp: SmtpConfig, perProcess: DelayWork[][], inFlight: number): Promise<DelayRaceResult[][]> {
	return raceWorkers(__filename, 'AD_DELAY_WORKER_CONFIG', { cfg, smtp }, perProcess, inFlight);
}

serveWorker<{ cfg: StoreConfig; smtp: SmtpConfig }, { store: KeyStore; smtp: SmtpConfig }, DelayWork, DelayRaceResult>(
	'AD_DELAY_WORKER_CONFIG',
	async ({ cfg, smtp }) => ({ store: await KeyStore.open(cfg), smtp }),
	(w, work) => runOne(w.store, w.smtp, work),
	async (w) => {
		closeAllTransports();
		await w.store.close();
	},
);
