/**
 * A separate OS process that opens a store and marks deliveries shipped with N in flight (the
 * core ship algorithm of Mark Shipped, calling the real shop peer), for the multi-process
 * "one shop call per delivery" race. Protocol over IPC: → {type:'ready'} after open;
 * ← {type:'go', jobs, inFlight}; → {type:'done', results}. Results never carry key text.
 *
 * `raceShips` forks one process per job list, waits until every process has opened the store,
 * then lets them all start at once.
 */
import { fork, type ChildProcess } from 'child_process';

import type { StoreConfig } from '../../../nodes/core/connection';
import { KeyStore } from '../../../nodes/core/KeyStore';
import { shipDelivery, type ShipRequest, type ShopTarget } from '../../../nodes/core/ship';

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

export async function runShips(store: KeyStore, jobs: ShipJob[], inFlight: number): Promise<ShipJobResult[]> {
	const results: ShipJobResult[] = new Array(jobs.length);
	let next = 0;
	const lane = async () => {
		while (next < jobs.length) {
			const i = next++;
			const j = jobs[i];
			try {
				const o = await shipDelivery(store, { deliveryId: j.deliveryId, shop: j.shop, request: j.request });
				results[i] = o.outcome === 'shipped'
					? { deliveryId: j.deliveryId, pid: process.pid, outcome: o.outcome, alreadyShipped: o.alreadyShipped, attempts: o.attempts }
					: { deliveryId: j.deliveryId, pid: process.pid, outcome: o.outcome };
			} catch (err) {
				results[i] = { deliveryId: j.deliveryId, pid: process.pid, error: String((err as Error)?.message ?? err) };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
	return results;
}

export async function raceShips(cfg: StoreConfig, perProcess: ShipJob[][], inFlight: number): Promise<ShipJobResult[][]> {
	const children: ChildProcess[] = perProcess.map(() =>
		fork(__filename, [], {
			execArgv: ['-r', 'ts-node/register/transpile-only'],
			env: { ...process.env, AD_SHIP_WORKER_CONFIG: JSON.stringify(cfg), TS_NODE_TRANSPILE_ONLY: '1' },
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
		children.forEach((c, i) => c.send({ type: 'go', jobs: perProcess[i], inFlight }));
		const msgs = await Promise.all(done);
		return msgs.map((m) => m.results as ShipJobResult[]);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill();
	}
}

async function main() {
	const cfg = JSON.parse(process.env.AD_SHIP_WORKER_CONFIG as string) as StoreConfig;
	const store = await KeyStore.open(cfg);
	const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
	process.on('message', async (msg: { type: string; jobs: ShipJob[]; inFlight: number }) => {
		if (msg.type !== 'go') return;
		const results = await runShips(store, msg.jobs, msg.inFlight);
		await store.close();
		await send({ type: 'done', results });
		process.exit(0);
	});
	await send({ type: 'ready' });
}

if (require.main === module && process.env.AD_SHIP_WORKER_CONFIG) {
	main().catch(async (err) => {
		process.send?.({ type: 'failed', error: String(err?.message ?? err) });
		process.exit(1);
	});
}
