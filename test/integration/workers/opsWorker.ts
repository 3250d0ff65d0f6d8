/**
 * A separate OS process that opens a store and runs a list of operations (claim, revoke, risk
 * evaluation, stock check) with N in flight, for the multi-process race tests of the lifecycle,
 * risk and alert logic. Protocol over IPC: → {type:'ready'} after open; ← {type:'go', ops,
 * inFlight}; → {type:'done', results}. Results carry ids and decisions only, never key text.
 *
 * `raceOps` (used by the tests) forks one process per op list, waits until every process has
 * opened the store, then lets them all start at once.
 */
import { fork, type ChildProcess } from 'child_process';

import type { StoreConfig } from '../../../nodes/core/connection';
import { checkStock } from '../../../nodes/core/alerts';
import { KeyStore } from '../../../nodes/core/KeyStore';
import { evaluateRisk, type RiskRules } from '../../../nodes/core/risk';

export type Op =
	| { op: 'claim'; orderId: string; sku: string; quantity?: number }
	| { op: 'revoke'; orderId: string; sku?: string | null; returnUnsent?: boolean }
	| { op: 'risk'; orderId: string; line?: string; buyerId?: string; email?: string; ip?: string; quantity?: number; amount?: number; rules: RiskRules }
	| { op: 'checkStock'; defaultThreshold: number };

export interface OpResult {
	op: Op['op'];
	orderId?: string;
	/** claim: delivered / alreadyDelivered / reason; revoke: per line; risk: decision; checkStock: alerted skus. */
	delivered?: boolean;
	alreadyDelivered?: boolean;
	reason?: string;
	keyIds?: number[];
	lines?: Array<{ sku: string; tombstone: boolean; alreadyRevoked: boolean; revokedKeyIds: number[]; returnedKeyIds: number[] }>;
	decision?: string;
	replayed?: boolean;
	alerts?: Array<{ sku: string; state: string }>;
	error?: string;
}

async function runOp(store: KeyStore, o: Op): Promise<OpResult> {
	try {
		switch (o.op) {
			case 'claim': {
				const r = await store.claim({ orderId: o.orderId, sku: o.sku, quantity: o.quantity ?? 1 });
				return r.delivered
					? { op: 'claim', orderId: o.orderId, delivered: true, alreadyDelivered: r.alreadyDelivered, keyIds: r.delivery.keys.map((k) => k.id as number) }
					: { op: 'claim', orderId: o.orderId, delivered: false, reason: r.reason, keyIds: [] };
			}
			case 'revoke': {
				const r = await store.revoke({ orderId: o.orderId, sku: o.sku, returnUnsent: o.returnUnsent });
				return {
					op: 'revoke',
					orderId: o.orderId,
					lines: r.map((l) => ({ sku: l.sku, tombstone: l.tombstone, alreadyRevoked: l.alreadyRevoked, revokedKeyIds: l.revokedKeyIds, returnedKeyIds: l.returnedKeyIds })),
				};
			}
			case 'risk': {
				const r = await evaluateRisk(store, { orderId: o.orderId, line: o.line, buyerId: o.buyerId, email: o.email, ip: o.ip, quantity: o.quantity, amount: o.amount }, o.rules);
				return { op: 'risk', orderId: o.orderId, decision: r.decision, replayed: r.replayed };
			}
			case 'checkStock': {
				const r = await checkStock(store, { defaultThreshold: o.defaultThreshold });
				return { op: 'checkStock', alerts: r.filter((x) => x.alert).map((x) => ({ sku: x.sku, state: x.state })) };
			}
		}
	} catch (err) {
		return { op: o.op, orderId: 'orderId' in o ? o.orderId : undefined, error: String((err as Error)?.message ?? err) };
	}
}

/** Runs ops with `inFlight` lanes on one store (also used in-process by the tests). */
export async function runOps(store: KeyStore, ops: Op[], inFlight: number): Promise<OpResult[]> {
	const results: OpResult[] = new Array(ops.length);
	let next = 0;
	const lane = async () => {
		while (next < ops.length) {
			const i = next++;
			results[i] = await runOp(store, ops[i]);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
	return results;
}

/** One OS process per op list; all open the store first, then start together. */
export async function raceOps(cfg: StoreConfig, perProcess: Op[][], inFlight: number): Promise<OpResult[][]> {
	const children: ChildProcess[] = perProcess.map(() =>
		fork(__filename, [], {
			execArgv: ['-r', 'ts-node/register/transpile-only'],
			env: { ...process.env, AD_OPS_WORKER_CONFIG: JSON.stringify(cfg), TS_NODE_TRANSPILE_ONLY: '1' },
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
		children.forEach((c, i) => c.send({ type: 'go', ops: perProcess[i], inFlight }));
		const msgs = await Promise.all(done);
		return msgs.map((m) => m.results as OpResult[]);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill();
	}
}

async function main() {
	const cfg = JSON.parse(process.env.AD_OPS_WORKER_CONFIG as string) as StoreConfig;
	const store = await KeyStore.open(cfg);
	const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
	process.on('message', async (msg: { type: string; ops: Op[]; inFlight: number }) => {
		if (msg.type !== 'go') return;
		const results = await runOps(store, msg.ops, msg.inFlight);
		await store.close();
		await send({ type: 'done', results });
		process.exit(0);
	});
	await send({ type: 'ready' });
}

if (require.main === module && process.env.AD_OPS_WORKER_CONFIG) {
	main().catch(async (err) => {
		process.send?.({ type: 'failed', error: String(err?.message ?? err) });
		process.exit(1);
	});
}
