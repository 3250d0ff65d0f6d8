import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';

import type { StoreConfig } from '../../nodes/core/connection';
import type { Strategy } from '../../nodes/core/KeyStore';
import type { WorkerResult } from '../integration/workers/claimWorker';

export type { WorkerResult };

export interface WorkerOrder { orderId: string; sku: string; quantity: number; strategy: Strategy }

/**
 * Starts one OS process per order list; every process opens the store at the same moment (a fresh
 * store: concurrent migrations), then all start claiming together.
 */
export async function raceInProcesses(cfg: StoreConfig, perProcess: WorkerOrder[][], inFlight: number): Promise<WorkerResult[][]> {
	const script = path.join(__dirname, '..', 'integration', 'workers', 'claimWorker.ts');
	const children: ChildProcess[] = perProcess.map(() =>
		fork(script, [], {
			execArgv: ['-r', 'ts-node/register/transpile-only'],
			env: { ...process.env, AD_WORKER_CONFIG: JSON.stringify(cfg), TS_NODE_TRANSPILE_ONLY: '1' },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	const waitFor = (c: ChildProcess, type: string) =>
		new Promise<Record<string, unknown>>((resolve, reject) => {
			const onMsg = (m: Record<string, unknown>) => {
				if (m.type === type) { c.off('message', onMsg); resolve(m); }
				else if (m.type === 'failed') reject(new Error(`worker failed: ${String(m.error)}`));
			};
			c.on('message', onMsg);
			c.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
		});
	try {
		await Promise.all(children.map((c) => waitFor(c, 'ready')));
		const done = children.map((c) => waitFor(c, 'done'));
		children.forEach((c, i) => c.send({ type: 'go', orders: perProcess[i], inFlight }));
		const msgs = await Promise.all(done);
		return msgs.map((m) => m.results as WorkerResult[]);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill();
	}
}
