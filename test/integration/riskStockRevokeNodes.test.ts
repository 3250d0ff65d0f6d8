/**
 * Risk Check, Stock Alert and Revoke on Refund running inside n8n's own engine (n8n-core
 * WorkflowExecute) on workflow JSON, with real stores: parameters with their default expressions
 * over Shop Webhook items, outputs and pairedItem, continueOnFail, secrets kept out of execution
 * data and logs, and concurrent executions.
 */
import type { ICredentialDataDecryptedObject, INode, INodeType } from 'n8n-workflow';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import type { KeyStore } from '../../nodes/core/store';
import { closeAllStores, getStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { RevokeOnRefund } from '../../nodes/RevokeOnRefund/RevokeOnRefund.node';
import { RiskCheck } from '../../nodes/RiskCheck/RiskCheck.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { StockAlert } from '../../nodes/StockAlert/StockAlert.node';
import { type DbKind, describeDb, dropStore, storeConfig } from '../helpers/db';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';
import { captureOutput } from '../helpers/capture';

const RISK = 'n8n-nodes-auto-delivery.riskCheck';
const STOCK = 'n8n-nodes-auto-delivery.stockAlert';
const REVOKE = 'n8n-nodes-auto-delivery.revokeOnRefund';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';

const nodeTypes: Record<string, INodeType> = {
	[RISK]: new RiskCheck(),
	[STOCK]: new StockAlert(),
	[REVOKE]: new RevokeOnRefund(),
	[CLAIM]: new ClaimKey(),
};

const { node, start, data, json } = workflowBuilders();

/** A Shop Webhook order.paid item (one per order line). */
const paid = (orderId: string, sku: string, buyer: { id?: string | null; email?: string | null; ip?: string | null }, extra: Record<string, unknown> = {}) => ({
	event: 'order.paid', orderId, shop: 'helloworld', buyer: { id: null, name: '小明', email: null, ip: null, ...buyer },
	amount: 100, currency: 'CNY', paidAt: '2026-11-23T10:00:00Z', sku, name: sku, quantity: 1, price: 100, line: 0, lines: 1, ...extra,
});

function credFor(kind: DbKind, cfg: ReturnType<typeof storeConfig>): ICredentialDataDecryptedObject {
	const c = kind === 'sqlite'
		? { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' }
		: { database: kind, host: cfg.host, port: cfg.port, databaseName: cfg.databaseName, user: cfg.user, password: cfg.password, encryptionSecret: cfg.encryptionSecret, tablePrefix: cfg.tablePrefix };
	return c as unknown as ICredentialDataDecryptedObject;
}

// Everything written to stdout/stderr/console while the nodes run, to prove no key reaches a log.
const captured = captureOutput();
afterAll(async () => {
	await closeAllStores();
});

const SECRET_KEYS = ['RVK-AAAA-1111-SECRET', 'RVK-BBBB-2222-SECRET', 'RVK-CCCC-3333-SECRET', 'RVK-DDDD-4444-SECRET'];

describeDb('sqlite', 'Risk Check, Stock Alert and Revoke on Refund in the n8n engine', () => {
	const cfg = storeConfig('sqlite');
	const credData = credFor('sqlite', cfg);
	let store: KeyStore;
	const run = (nodes: INode[], connections = chain(...nodes.map((x) => x.name))) => runWorkflow({ nodes, connections }, { nodeTypes, credentials: [{ type: 'autoDeliveryKeyStore', data: credData }] });
	beforeAll(async () => {
		store = await getStore(storeConfigFromCredentials(credData));
	});
	afterAll(async () => {
		await closeAllStores();
		await dropStore(cfg);
	});

	describe('Risk Check', () => {
		const risk = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) => node('Risk', RISK, { operation: 'evaluate', ...params }, extra);

		it('reads Shop Webhook items through its default expressions and routes them to Pass / Review / Reject with reasons', async () => {
			await internals(store).db(internals(store).t.blocklist).insert({ kind: 'ip', value: '203.0.113.66', reason: 'chargebacks', created_at: Date.now() });
			const items = [
				paid('RC-1', 'STEAM-50', { id: 'u1', email: 'A@Example.com', ip: '198.51.100.1' }),
				paid('RC-2', 'STEAM-50', { id: 'u2', email: 'b@example.com', ip: '198.51.100.2' }, { quantity: 9 }),
				paid('RC-3', 'STEAM-50', { id: 'u3', email: 'c@example.com', ip: '198.51.100.3' }, { amount: 5000 }),
				paid('RC-4', 'STEAM-50', { id: 'u4', email: 'd@example.com', ip: '203.0.113.66' }),
				paid('RC-5', 'STEAM-50', { id: 'u1', email: 'a@example.com', ip: '198.51.100.1' }),
			];
			const r = await run([start(), data(items), risk({ maxOrdersPerBuyer: 1, maxQuantity: 5, amountThreshold: 1000 })]);
			expect(r.status).toBe('success');
			const [pass, review, reject] = r.outputs.Risk;
			expect(json(pass).map((x) => x.orderId)).toEqual(['RC-1']);
			expect(json(review).map((x) => x.orderId)).toEqual(['RC-3']);
			expect(json(reject).map((x) => x.orderId)).toEqual(['RC-2', 'RC-4', 'RC-5']);
			// the input item flows on, with the decision
			expect(json(pass)[0]).toEqual({ ...items[0], risk: { decision: 'pass', reasons: [], replayed: false } });
			expect(json(review)[0].risk).toEqual({ decision: 'review', replayed: false, reasons: [{ rule: 'amount', action: 'review', message: 'Amount 5000 is at or above the review threshold of 1000.' }] });
			expect(json(reject).map((x) => (x.risk as { reasons: Array<{ rule: string }> }).reasons.map((y) => y.rule))).toEqual([['max_quantity'], ['blocklist'], ['buyer_rate']]);
			expect(pass.map((x) => x.pairedItem)).toEqual([{ item: 0 }]);
			expect(review.map((x) => x.pairedItem)).toEqual([{ item: 2 }]);
			expect(reject.map((x) => x.pairedItem)).toEqual([{ item: 1 }, { item: 3 }, { item: 4 }]);
			// a second execution (webhook retry) replays every decision and counts nothing
			const again = await run([start(), data(items), risk({ maxOrdersPerBuyer: 1, maxQuantity: 5, amountThreshold: 1000 })]);
			expect(json(again.outputs.Risk[0]).map((x) => [x.orderId, (x.risk as { replayed: boolean }).replayed])).toEqual([['RC-1', true]]);
			expect(json(again.outputs.Risk[2])).toHaveLength(3);
			expect(Number((await internals(store).db(internals(store).t.riskLog).where('order_id', 'like', 'RC-%').count({ c: '*' }).first())?.c)).toBe(5);
		});

		it('limits of 0 turn rules off; an item without buyer fields is evaluated on what it has', async () => {
			const items = [paid('RC-10', 'X', { id: 'zero' }, { quantity: 1000, amount: 1e6 }), paid('RC-11', 'X', { id: 'zero' }), { orderId: 'RC-12', sku: 'X', quantity: 1, amount: 1, buyer: {} }];
			const r = await run([start(), data(items), risk({ maxOrdersPerBuyer: 0, maxQuantity: 0, amountThreshold: 0, checkBlocklist: false })]);
			expect(r.status).toBe('success');
			expect(json(r.outputs.Risk[0]).map((x) => x.orderId)).toEqual(['RC-10', 'RC-11', 'RC-12']);
		});

		it('a bad item stops the node with its index and records nothing; with continueOnFail it goes to Review, never Pass', async () => {
			const items = [paid('RC-20', 'X', { id: 'v' }), paid('', 'X', { id: 'v' }), paid('RC-22', 'X', { id: 'v' }, { quantity: 1.5 })];
			const r = await run([start(), data(items), risk({ maxOrdersPerBuyer: 5 })]);
			expect(r.status).toBe('error');
			expect(r.error?.message).toBe('Order ID is required.');
			expect((r.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
			const c = await run([start(), data(items), risk({ maxOrdersPerBuyer: 5 }, { onError: 'continueRegularOutput' })]);
			expect(c.status).toBe('success');
			const [pass, review, reject] = c.outputs.Risk;
			expect(json(pass).map((x) => x.orderId)).toEqual(['RC-20']);
			expect(json(reject)).toEqual([]);
			expect(json(review).map((x) => [x.orderId, (x.risk as { decision: string; error: string }).decision, (x.risk as { error: string }).error])).toEqual([
				['', 'review', 'Order ID is required.'],
				['RC-22', 'review', 'quantity must be a whole number of at least 0.'],
			]);
			expect(review.map((x) => x.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
			expect(await internals(store).db(internals(store).t.riskLog).where({ order_id: 'RC-22' }).first()).toBeUndefined();
		});

		it('Add to / Remove from / List Blocklist have one output; a blocked buyer is rejected', async () => {
			const add = await run([start(), data([{ who: 'bad-buyer' }, { who: 'BAD@example.com', kind: 'email' }]), node('Block', RISK, { operation: 'addToBlocklist', kind: '={{ $json.kind ?? "buyer" }}', value: '={{ $json.who }}', reason: 'fraud' })]);
			expect(add.status).toBe('success');
			expect(add.outputs.Block).toHaveLength(1);
			expect(json(add.outputs.Block[0])).toEqual([
				expect.objectContaining({ kind: 'buyer', value: 'bad-buyer', reason: 'fraud', added: true }),
				expect.objectContaining({ kind: 'email', value: 'bad@example.com', added: true }),
			]);
			const list = await run([start(), node('List', RISK, { operation: 'listBlocklist', kindFilter: 'all', limit: 50 })]);
			expect(json(list.outputs.List[0]).map((x) => `${x.kind}:${x.value}`)).toEqual(['ip:203.0.113.66', 'buyer:bad-buyer', 'email:bad@example.com']);
			expect(list.outputs.List[0].every((x) => (x.pairedItem as { item: number }).item === 0)).toBe(true);
			const ev = await run([start(), data([paid('RC-30', 'X', { id: 'bad-buyer' }), paid('RC-31', 'X', { id: 'ok', email: 'bad@EXAMPLE.com' })]), risk({ blocklistAction: 'review' })]);
			expect(json(ev.outputs.Risk[1]).map((x) => x.orderId)).toEqual(['RC-30', 'RC-31']);
			const rm = await run([start(), node('Unblock', RISK, { operation: 'removeFromBlocklist', kind: 'buyer', value: 'bad-buyer' })]);
			expect(json(rm.outputs.Unblock[0])).toEqual([{ kind: 'buyer', value: 'bad-buyer', removed: true }]);
			const bad = await run([start(), node('Block', RISK, { operation: 'addToBlocklist', kind: 'buyer', value: '  ' })]);
			expect(bad.error?.message).toBe('The value to block is required.');
		});
	});

	describe('Stock Alert', () => {
		it('Check Stock alerts once per crossing across executions, once per execution whatever the input, paired to item 0', async () => {
			await store.importKeys({ sku: 'SA-1', keys: ['SA-KEY-0001', 'SA-KEY-0002', 'SA-KEY-0003'], productName: 'Alert One' });
			await store.importKeys({ sku: 'SA-2', keys: Array.from({ length: 20 }, (_, i) => `SA2-KEY-${i}`) });
			const check = (params: Record<string, unknown> = {}) => node('Alert', STOCK, { operation: 'checkStock', defaultThreshold: 5, skus: 'SA-1, SA-2', ...params });
			const r = await run([start(), data([{}, {}, {}]), check()]);
			expect(r.status).toBe('success');
			expect(json(r.outputs.Alert[0])).toEqual([
				{ sku: 'SA-1', name: 'Alert One', available: 3, threshold: 5, thresholdSource: 'default', state: 'low', previousState: 'ok', alert: true, message: 'Alert One (SA-1) is running low: 3 key(s) left (threshold 5).' },
			]);
			expect(r.outputs.Alert[0][0].pairedItem).toEqual({ item: 0 });
			const again = await run([start(), check()]);
			expect(again.status).toBe('success');
			expect(json(again.outputs.Alert[0])).toEqual([]);
			const all = await run([start(), check({ reportAll: true })]);
			expect(json(all.outputs.Alert[0]).map((x) => [x.sku, x.state, x.alert])).toEqual([['SA-1', 'low', false], ['SA-2', 'ok', false]]);
			// two executions at the same moment after the next crossing: one alert
			for (let i = 0; i < 3; i++) await store.claim({ orderId: `SA-O-${i}`, sku: 'SA-1' });
			const both = await Promise.all([run([start(), check()]), run([start(), check()])]);
			expect(both.flatMap((b) => json(b.outputs.Alert[0])).map((x) => `${x.sku}:${x.state}:${x.previousState}`)).toEqual(['SA-1:empty:low']);
		});

		it('Check Deliveries lists deliveries claimed but not sent, and sent but not shipped, for too long', async () => {
			await store.importKeys({ sku: 'SA-D', keys: ['SAD-KEY-0001', 'SAD-KEY-0002', 'SAD-KEY-0003'] });
			const c1 = await store.claim({ orderId: 'SA-D-1', sku: 'SA-D', buyer: { id: 'u9', name: 'Li', email: 'li@example.com' } });
			const c2 = await store.claim({ orderId: 'SA-D-2', sku: 'SA-D' });
			await store.claim({ orderId: 'SA-D-3', sku: 'SA-D' }); // fresh: not reported
			if (!c1.delivered || !c2.delivered) throw new Error('claim');
			const b = await store.beginSend(c2.delivery.id);
			if (b.kind !== 'go') throw new Error(b.kind);
			await store.markSent(c2.delivery.id, b.token, { channel: 'email' });
			const now = Date.now();
			await internals(store).db(internals(store).t.deliveries).where({ id: c1.delivery.id }).update({ created_at: now - 45 * 60000 });
			await internals(store).db(internals(store).t.deliveries).where({ id: c2.delivery.id }).update({ sent_at: now - 180 * 60000 });
			const r = await run([start(), node('Stuck', STOCK, { operation: 'checkDeliveries', notSentMinutes: 30, notShippedMinutes: 120, limit: 50 })]);
			expect(r.status).toBe('success');
			const out = json(r.outputs.Stuck[0]).filter((x) => String(x.orderId).startsWith('SA-D-'));
			expect(out).toEqual([
				expect.objectContaining({ problem: 'not_sent', deliveryId: c1.delivery.id, orderId: 'SA-D-1', sku: 'SA-D', status: 'claimed', buyer: { id: 'u9', name: 'Li', email: 'li@example.com' }, message: expect.stringMatching(/never sent to the buyer/) }),
				expect.objectContaining({ problem: 'not_shipped', deliveryId: c2.delivery.id, orderId: 'SA-D-2', status: 'sent', message: expect.stringMatching(/not marked shipped/) }),
			]);
			expect((out[0].ageMinutes as number) >= 45 && (out[1].ageMinutes as number) >= 180).toBe(true);
			const off = await run([start(), node('Stuck', STOCK, { operation: 'checkDeliveries', notSentMinutes: 0, notShippedMinutes: 120, limit: 50 })]);
			expect(json(off.outputs.Stuck[0]).filter((x) => String(x.orderId).startsWith('SA-D-')).map((x) => x.problem)).toEqual(['not_shipped']);
			expect(JSON.stringify(r.raw)).not.toContain('SAD-KEY');
		});

		it('a bad parameter fails clearly; with continueOnFail one error item paired to item 0', async () => {
			const bad = node('Alert', STOCK, { operation: 'checkStock', defaultThreshold: '={{ -1 }}', skus: '' });
			const r = await run([start(), bad]);
			expect(r.status).toBe('error');
			expect(r.error?.message).toMatch(/default low-stock threshold must be a whole number/);
			const c = await run([start(), { ...bad, onError: 'continueRegularOutput' }]);
			expect(c.outputs.Alert[0].map((x) => [x.json.error, x.pairedItem])).toEqual([[expect.stringMatching(/threshold/), { item: 0 }]]);
		});
	});

	describe('Revoke on Refund', () => {
		const claimNode = () => node('Claim', CLAIM, { orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}', strategy: 'sequential', includeKeys: false, details: { buyerId: '={{ $json.buyer.id }}', buyerEmail: '={{ $json.buyer.email }}', buyerName: '={{ $json.buyer.name }}' } });
		const revoke = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) => node('Revoke', REVOKE, { orderId: '={{ $json.orderId }}', ...params }, extra);

		it('revokes every line of a refunded order, masked, with the buyer; idempotent; keys never in execution data', async () => {
			await store.importKeys({ sku: 'RV-A', keys: SECRET_KEYS.slice(0, 3) });
			await store.importKeys({ sku: 'RV-B', keys: SECRET_KEYS.slice(3) });
			const claimed = await run([start(), data([paid('RV-1', 'RV-A', { id: 'u1', email: 'u1@example.com' }, { quantity: 2 }), paid('RV-1', 'RV-B', { id: 'u1', email: 'u1@example.com' })]), claimNode()]);
			expect(json(claimed.outputs.Claim[0])).toHaveLength(2);
			const refund = { event: 'order.refunded', orderId: 'RV-1', shop: 'helloworld', items: [], buyer: { id: 'u1' } };
			const r = await run([start(), data([refund]), revoke()]);
			expect(r.status).toBe('success');
			const out = json(r.outputs.Revoke[0]);
			expect(out).toEqual([
				{
					orderId: 'RV-1', shop: 'helloworld', sku: 'RV-A', deliveryId: expect.any(Number), tombstone: false, alreadyRevoked: false, previousStatus: 'claimed', buyerSaw: false, reason: 'refund', quantity: 2,
					keys: ['RVK-…CRET', 'RVK-…CRET'], keyIds: [expect.any(Number), expect.any(Number)], keysMasked: true, revokedKeyIds: [expect.any(Number), expect.any(Number)], returnedKeyIds: [], returnedToStock: 0,
					buyer: { id: 'u1', name: '小明', email: 'u1@example.com', ip: null },
				},
				expect.objectContaining({ sku: 'RV-B', quantity: 1, keys: ['RVK-…CRET'], alreadyRevoked: false }),
			]);
			expect(r.outputs.Revoke[0].map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
			const again = await run([start(), data([refund]), revoke()]);
			expect(json(again.outputs.Revoke[0]).map((x) => [x.sku, x.alreadyRevoked, (x.revokedKeyIds as number[]).length])).toEqual([['RV-A', true, 0], ['RV-B', true, 0]]);
			for (const k of SECRET_KEYS) expect(JSON.stringify([r.raw, again.raw, claimed.raw])).not.toContain(k);
			// Include Keys in Output: plain keys for vendor-side deactivation
			const shown = await run([start(), data([refund]), revoke({ sku: 'RV-A', includeKeys: true })]);
			expect(json(shown.outputs.Revoke[0])[0]).toMatchObject({ keys: [SECRET_KEYS[0], SECRET_KEYS[1]], keysMasked: false, alreadyRevoked: true });
			// the order's keys are revoked for good
			expect((await store.stock('RV-A'))[0]).toMatchObject({ available: 1, revoked: 2 });
		});

		it('a refund before payment writes a tombstone; the late "paid" goes to Not Delivered with reason revoked', async () => {
			const r = await run([start(), data([{ orderId: 'RV-2', shop: 'helloworld' }]), revoke({ sku: 'RV-A', reason: '={{ "cancelled " + $json.orderId }}' })]);
			expect(json(r.outputs.Revoke[0])).toEqual([expect.objectContaining({ orderId: 'RV-2', sku: 'RV-A', tombstone: true, alreadyRevoked: false, keys: [], quantity: 0, reason: 'cancelled RV-2', returnedToStock: 0 })]);
			const late = await run([start(), data([paid('RV-2', 'RV-A', { id: 'u2' })]), claimNode()]);
			expect(json(late.outputs.Claim[0])).toEqual([]);
			expect(json(late.outputs.Claim[1])).toEqual([expect.objectContaining({ orderId: 'RV-2', status: 'not_delivered', reason: 'revoked' })]);
			expect((await store.stock('RV-A'))[0].available).toBe(1);
		});

		it('Return Unsent Keys to Stock returns keys nobody tried to send, never keys the buyer was sent', async () => {
			await store.importKeys({ sku: 'RV-C', keys: ['RVC-KEY-0001', 'RVC-KEY-0002'] });
			await run([start(), data([paid('RV-3', 'RV-C', {}), paid('RV-4', 'RV-C', {})]), claimNode()]);
			const sent = (await store.findDelivery({ orderId: 'RV-4', shop: 'helloworld', sku: 'RV-C' })).id;
			const b = await store.beginSend(sent);
			if (b.kind !== 'go') throw new Error(b.kind);
			await store.markSent(sent, b.token, { channel: 'email' });
			const r = await run([start(), data([{ orderId: 'RV-3', shop: 'helloworld' }, { orderId: 'RV-4', shop: 'helloworld' }]), revoke({ returnUnsent: true })]);
			expect(json(r.outputs.Revoke[0]).map((x) => [x.orderId, x.buyerSaw, x.returnedToStock, (x.revokedKeyIds as number[]).length, x.keys])).toEqual([
				['RV-3', false, 1, 0, []],
				['RV-4', true, 0, 1, [expect.not.stringContaining('RVC-KEY')]],
			]);
			expect(r.outputs.Revoke[0].map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
			expect((await store.stock('RV-C'))[0]).toMatchObject({ available: 1, revoked: 1 });
		});

		it('bad input fails with the item index and changes nothing; with continueOnFail an error item', async () => {
			const items = [{ orderId: 'RV-9' }, { orderId: '' }];
			const before = Number((await internals(store).db(internals(store).t.deliveries).count({ c: '*' }).first())?.c);
			const r = await run([start(), data(items), revoke({ sku: 'RV-A' })]);
			expect(r.status).toBe('error');
			expect(r.error?.message).toBe('Order ID is required.');
			expect((r.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
			// item 0 ran before item 1 failed (a tombstone for RV-9 / RV-A); item 1 wrote nothing
			expect(Number((await internals(store).db(internals(store).t.deliveries).count({ c: '*' }).first())?.c)).toBe(before + 1);
			const c = await run([start(), data(items), revoke({ sku: '*' }, { onError: 'continueRegularOutput' })]);
			expect(json(c.outputs.Revoke[0])).toEqual([{ error: expect.stringMatching(/leave the SKU empty/) }, { error: 'Order ID is required.' }]);
			expect(c.outputs.Revoke[0].map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		});
	});

});

for (const kind of ['postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'Risk Check and Revoke on Refund in concurrent n8n executions', () => {
		const cfg = storeConfig(kind);
		const credData = credFor(kind, cfg);
		const run = (nodes: INode[]) => runWorkflow({ nodes, connections: chain(...nodes.map((x) => x.name)) }, { nodeTypes, credentials: [{ type: 'autoDeliveryKeyStore', data: credData }] });
		afterAll(async () => {
			await closeAllStores();
			await dropStore(cfg);
		});

		it('10 executions at once, 5 orders each from one buyer, limit 5: exactly 5 orders on Pass', async () => {
			const runs = await Promise.all(
				Array.from({ length: 10 }, (_, e) =>
					run([start(), data(Array.from({ length: 5 }, (_, i) => paid(`CE-${e}-${i}`, 'SKU', { id: 'same-buyer', ip: '198.51.100.50' }))), node('Risk', RISK, { operation: 'evaluate', maxOrdersPerBuyer: 5 })]),
				),
			);
			expect(runs.every((r) => r.status === 'success')).toBe(true);
			expect(runs.flatMap((r) => json(r.outputs.Risk[0]))).toHaveLength(5);
			expect(runs.flatMap((r) => json(r.outputs.Risk[2]))).toHaveLength(45);
		});

		it('a refund of the whole order in one execution while another claims it: the order ends revoked either way', async () => {
			const store = await getStore(storeConfigFromCredentials(credData));
			await store.importKeys({ sku: 'CR', keys: Array.from({ length: 20 }, (_, i) => `CR-KEY-${i}-SECRET`) });
			const claim = (o: string) => run([start(), data([paid(o, 'CR', { id: 'x' })]), node('Claim', CLAIM, { orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: 1, strategy: 'sequential', includeKeys: false })]);
			const refund = (o: string) => run([start(), data([{ orderId: o, shop: 'helloworld' }]), node('Revoke', REVOKE, { orderId: '={{ $json.orderId }}' })]);
			const orders = Array.from({ length: 10 }, (_, i) => `CR-${i}`);
			const runs = await Promise.all(orders.flatMap((o) => [claim(o), refund(o)]));
			expect(runs.every((r) => r.status === 'success')).toBe(true);
			for (const o of orders) {
				const lines = await store.getDeliveries({ orderId: o, shop: 'helloworld' });
				expect(lines.filter((l) => l.status !== 'revoked')).toEqual([]);
				const late = await store.claim({ orderId: o, shop: 'helloworld', sku: 'CR' });
				expect(late).toMatchObject({ delivered: false, reason: 'revoked' });
			}
			expect((await store.stock('CR'))[0].assigned).toBe(0);
		});
	});
}

describe('secret hygiene', () => {
	it('no plaintext key reached stdout, stderr or the console while the nodes ran', () => {
		const all = captured.join('\n');
		for (const k of [...SECRET_KEYS, 'SA-KEY-0001', 'SAD-KEY-0001', 'RVC-KEY-0001', 'RVC-KEY-0002', 'CR-KEY-1-SECRET']) expect({ k, leaked: all.includes(k) }).toEqual({ k, leaked: false });
	});
});
