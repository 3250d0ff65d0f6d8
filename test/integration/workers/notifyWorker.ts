/**
 * A separate OS process that opens a store and sends deliveries with Notify Buyer's core
 * (`notifyDelivery`, email to the test's SMTP server), for the multi-process "exactly one mail"
 * race. Protocol over IPC: → {type:'ready'} after open; ← {type:'go', deliveryIds, inFlight};
 * → {type:'done', results}. Results carry ids, outcomes and message ids only, never key text.
 *
 * `raceNotify` (used by the tests) forks one process per id list, waits until every process has
 * opened the store, then lets them all start at once.
 */
import { fork, type ChildProcess } from 'child_process';

import type { StoreConfig } from '../../../nodes/core/connection';
import { KeyStore } from '../../../nodes/core/KeyStore';
import { closeAllTransports, type SmtpConfig } from '../../../nodes/core/mailer';
import { notifyDelivery } from '../../../nodes/core/notify';

export interface NotifyRaceResult {
	deliveryId: number;
	pid: number;
	outcome?: string;
	messageId?: string | null;
	error?: string;
}

async function sendAll(store: KeyStore, smtp: SmtpConfig, ids: number[], inFlight: number): Promise<NotifyRaceResult[]> {
	const results: NotifyRaceResult[] = [];
	let next = 0;
	const lane = async () => {
		while (next < ids.length) {
			const deliveryId = ids[next++];
			try {
				const r = await notifyDelivery(store, { deliveryId, channel: { kind: 'email', smtp }, actor: { node: `worker-${process.pid}` } });
				results.push({ deliveryId, pid: process.pid, outcome: r.outcome, messageId: r.notify.messageId });
			} catch (err) {
				results.push({ deliveryId, pid: process.pid, error: String((err as Error)?.message ?? err) });
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
	return results;
}

/** One OS process per id list; all open the store first, then start together. */
export async function raceNotify(cfg: StoreConfig, smtp: SmtpConfig, perProcess: number[][], inFlight: number): Promise<NotifyRaceResult[][]> {
	const children: ChildProcess[] = perProcess.map(() =>
		fork(__filename, [], {
			execArgv: ['-r', 'ts-node/register/transpile-only'],
			env: { ...process.env, AD_NOTIFY_WORKER_CONFIG: JSON.stringify({ cfg, smtp }), TS_NODE_TRANSPILE_ONLY: '1' },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	const waitFor = (c: ChildProcess, type: string) =>
		new Promise<Record<string, unknown>>((resolve, reject) => {
			const onMsg = (m: Record<string, unknown>) => {
				if (m.type === type) {
					c.off('message', onMsg);
					resolve(m);
				} else if (m.type === 'failed') reject(new Error(`worker failed: ${String(m.error)}`));
			};
			c.on('message', onMsg);
			c.once('exit', (code) => {
				if (code !== 0) reject(new Error(`worker exited with ${code}`));
			});
		});
	try {
		await Promise.all(children.map((c) => waitFor(c, 'ready')));
		const done = children.map((c) => waitFor(c, 'done'));
		children.forEach((c, i) => c.send({ type: 'go', deliveryIds: perProcess[i], inFlight }));
		const msgs = await Promise.all(done);
		return msgs.map((m) => m.results as NotifyRaceResult[]);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill();
	}
}

async function main() {
	const { cfg, smtp } = JSON.parse(process.env.AD_NOTIFY_WORKER_CONFIG as string) as { cfg: StoreConfig; smtp: SmtpConfig };
	const store = await KeyStore.open(cfg);
	const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
	process.on('message', async (msg: { type: string; deliveryIds: number[]; inFlight: number }) => {
		if (msg.type !== 'go') return;
		const results = await sendAll(store, smtp, msg.deliveryIds, msg.inFlight);
		closeAllTransports();
		await store.close();
		await send({ type: 'done', results });
		process.exit(0);
	});
	await send({ type: 'ready' });
}

if (require.main === module && process.env.AD_NOTIFY_WORKER_CONFIG) {
	main().catch(async (err) => {
		process.send?.({ type: 'failed', error: String(err?.message ?? err) });
		process.exit(1);
	});
}
