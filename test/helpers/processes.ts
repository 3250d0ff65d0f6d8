/**
 * Races across OS processes. The parent forks one worker process per work list; every worker opens
 * the store first (a fresh store: concurrent migrations), says ready, and all start together when
 * the parent says go. Protocol over IPC: → {type:'ready'}; ← {type:'go', work, inFlight};
 * → {type:'done', results} (or {type:'failed', error}). Results never carry key text.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';

import type { StoreConfig } from '../../nodes/core/store';
import type { Strategy } from '../../nodes/core/store';
import type { WorkerResult } from '../integration/workers/claimWorker';

export type { WorkerResult };

export interface WorkerOrder { orderId: string; sku: string; quantity: number; strategy: Strategy }

/** Parent side: runs `script` once per work list with `config` (JSON in env `envName`); each process's results. */
export async function raceWorkers<W, R>(script: string, envName: string, config: unknown, perProcess: W[][], inFlight: number): Promise<R[][]> {
	const children: ChildProcess[] = perProcess.map(() =>
		fork(script, [], {
			execArgv: ['-r', 'ts-node/register/transpile-only'],
			env: { ...process.env, [envName]: JSON.stringify(config), TS_NODE_TRANSPILE_ONLY: '1' },
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
		children.forEach((c, i) => c.send({ type: 'go', work: perProcess[i], inFlight }));
		const msgs = await Promise.all(done);
		return msgs.map((m) => m.results as R[]);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill();
	}
}

/** Runs `fn` over `work` with `inFlight` concurrent lanes; results in the order of `work`. */
export async function inLanes<W, R>(work: W[], inFlight: number, fn: (w: W) => Promise<R>): Promise<R[]> {
	const results: R[] = new Array(work.length);
	let next = 0;
	const lane = async () => {
		while (next < work.length) {
			const i = next++;
			results[i] = await fn(work[i]);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
	return results;
}

/**
 * Worker side: when this file was started by raceWorkers (env `envName` set), `open` prepares the
 * process (opens the store), then each work item goes through `runOne` with `inFlight` lanes;
 * results keep the order of the work list. `close` runs before the results are sent.
 */
export function serveWorker<C, S, W, R>(
	envName: string,
	open: (config: C) => Promise<S>,
	runOne: (state: S, work: W) => Promise<R>,
	close: (state: S) => Promise<void>,
): void {
	if (!process.env[envName] || !process.send) return;
	const main = async () => {
		const state = await open(JSON.parse(process.env[envName] as string) as C);
		const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
		process.on('message', async (msg: { type: string; work: W[]; inFlight: number }) => {
			if (msg.type !== 'go') return;
			const results = await inLanes(msg.work, msg.inFlight, (w) => runOne(state, w));
			await close(state);
			await send({ type: 'done', results });
			process.exit(0);
		});
		await send({ type: 'ready' });
	};
	main().catch((err: Error) => {
		process.send?.({ type: 'failed', error: String(err?.message ?? err) });
		process.exit(1);
	});
}

/** Claims orders from several processes at once (claimWorker). */
export function raceInProcesses(cfg: StoreConfig, perProcess: WorkerOrder[][], inFlight: number): Promise<WorkerResult[][]> {
	return raceWorkers(path.join(__dirname, '..', 'integration', 'workers', 'claimWorker.ts'), 'AD_WORKER_CONFIG', cfg, perProcess, inFlight);
}
