/**
 * A separate OS process that opens a store and runs a list of operations (claim, revoke, risk
 * evaluation, stock check) with N in flight, for the multi-process race tests of the lifecycle,
 * risk and alert logic (the harness is test/helpers/processes.ts). Results carry ids and decisions
 * only, never key text.
 */
import type { StoreConfig } from '../../../nodes/core/store';
import { checkStock } from '../../../nodes/core/alerts';
import { KeyStore } from '../../../nodes/core/store';
import { evaluateRisk, type RiskRules } from '../../../nodes/core/risk';
import { inLanes, raceWorkers, serveWorker } from '../../helpers/processes';

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
export function runOps(store: KeyStore, ops: Op[], inFlight: number): Promise<OpResult[]> {
	return inLanes(ops, inFlight, (o) => runOp(store, o));
}

/** One OS process per op list; all open the store first, then start together. */
export function raceOps(cfg: StoreConfig, perProcess: Op[][], inFlight: number): Promise<OpResult[][]> {
	return raceWorkers(__filename, 'AD_OPS_WORKER_CONFIG', cfg, perProcess, inFlight);
}

serveWorker<StoreConfig, KeyStore, Op, OpResult>('AD_OPS_WORKER_CONFIG', (cfg) => KeyStore.open(cfg), runOp, (store) => store.close());
