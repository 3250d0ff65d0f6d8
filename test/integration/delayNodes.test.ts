/**
 * Buyers hear about delays, through the nodes inside n8n's own engine (n8n-core WorkflowExecute)
 * with a real SMTP peer and real stores: Claim Key records out-of-stock lines as waiting, Risk
 * Check's Review holds the line, Notify Buyer → Send Delay Notice tells the buyer once per order,
 * Key Pool → Complete Waiting Orders delivers in order of payment into Notify Buyer → Send.
 * Outputs, pairedItem, continueOnFail, and no key in outputs, errors or logs.
 */
import type { ICredentialDataDecryptedObject, INode, INodeExecutionData, INodeType } from 'n8n-workflow';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import { closeAllTransports } from '../../nodes/core/outbound';
import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { RiskCheck } from '../../nodes/RiskCheck/RiskCheck.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { captureOutput } from '../helpers/capture';
import { type DbKind, describeDb, dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, connect, manualTriggerNode, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';
import { claimParams } from '../helpers/nodeParams';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';

const POOL = 'n8n-nodes-auto-delivery.keyPool';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
const NOTIFY = 'n8n-nodes-auto-delivery.notifyBuyer';
const RISK = 'n8n-nodes-auto-delivery.riskCheck';

const nodeTypes: Record<string, INodeType> = {
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
	[POOL]: new KeyPool(),
	[CLAIM]: new ClaimKey(),
	[NOTIFY]: new NotifyBuyer(),
	[RISK]: new RiskCheck(),
};

const { node, start, data } = workflowBuilders();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json as Record<string, any>);
const KEYS = Array.from({ length: 10 }, (_, i) => `DLY-${String(i).padStart(3, '0')}-${Math.random().toString(36).slice(2, 10).toUpperCase()}`);
const captured = captureOutput();

let smtp: SmtpPeer;
beforeAll(async () => {
	smtp = await startSmtpServer();
});
afterAll(async () => {
	await closeAllTransports();
	await smtp?.close();
	await closeAllStores();
});

function credFor(kind: DbKind, cfg: ReturnType<typeof storeConfig>): ICredentialDataDecryptedObject {
	const c = kind === 'sqlite'
		? { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' }
		: { database: kind, host: cfg.host, port: cfg.port, databaseName: cfg.databaseName, user: cfg.user, password: cfg.password, encryptionSecret: cfg.encryptionSecret, tablePrefix: cfg.tablePrefix };
	return c as unknown as ICredentialDataDecryptedObject;
}

const paid = (orderId: string, sku: string, email: string, extra: Record<string, unknown> = {}) => ({
	event: 'order.paid', orderId, shop: null, buyer: { id: `u-${orderId}`, name: `Buyer ${orderId}`, email, ip: null },
	amount: 10, paidAt: '2026-11-23T10:00:00Z', sku, name: sku, quantity: 1, price: 10, ...extra,
});

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'delays through the nodes in the n8n engine', () => {
		const cfg = storeConfig(kind);
		const credData = credFor(kind, cfg);
		let store: KeyStore;
		const credentials = (smtpOver: Record<string, unknown> = {}) => [
			{ type: 'autoDeliveryKeyStore', data: credData },
			{ type: 'autoDeliverySmtp', data: { host: smtp.host, port: smtp.port, security: 'none', from: 'Key Shop <shop@example.com>', ...smtpOver } },
		];
		const run = (nodes: INode[], connections = chain(...nodes.map((x) => x.name))) => runWorkflow({ nodes, connections }, { nodeTypes, credentials: credentials() });
		const claim = (params: Record<string, unknown> = {}) =>
			node('Claim', CLAIM, { ...claimParams({ buyerEmail: '={{ $json.buyer.email }}', buyerName: '={{ $json.buyer.name }}', paidAt: '={{ $json.paidAt }}' }), ...params });
		const delay = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) => node('Delay', NOTIFY, { operation: 'sendDelayNotice', ...params }, extra);
		beforeAll(async () => {
			store = await getStore(storeConfigFromCredentials(credData));
			await store.upsertProduct({ sku: 'EMPTY', name: 'Empty 空', settings: { delayNotice: true, expectedWithin: '6 小时 / 6 hours' } });
			await store.upsertProduct({ sku: 'QUIET', name: 'Quiet', settings: { delayNotice: false } });
		});
		afterAll(async () => {
			await closeAllStores();
			await dropStore(cfg);
		});
		beforeEach(() => smtp.clear());

		it('Claim Key → Not Delivered (waiting) → Send Delay Notice: one mail per order, a retried execution sends none', async () => {
			const orders = [paid('E-1', 'EMPTY', 'e1@example.com', { paidAt: '2026-11-23T10:00:00Z' }), paid('E-2', 'EMPTY', 'e2@example.com', { paidAt: '2026-11-23T10:05:00Z' }), paid('Q-1', 'QUIET', 'q1@example.com')];
			const nodes = [start(), data(orders), claim(), delay()];
			const connections = connect('Claim', 1, 'Delay', chain('Start', 'Data', 'Claim'));
			const r = await run(nodes, connections);
			expect(r.status).toBe('success');
			const notDelivered = json(r.outputs.Claim[1]);
			expect(notDelivered.map((x) => [x.orderId, x.reason, x.waiting?.status, x.waiting?.reason])).toEqual([
				['E-1', 'out_of_stock', 'waiting', 'out_of_stock'],
				['E-2', 'out_of_stock', 'waiting', 'out_of_stock'],
				['Q-1', 'out_of_stock', 'waiting', 'out_of_stock'],
			]);
			expect(notDelivered[0].message).toContain('Complete Waiting Orders');
			const out = json(r.outputs.Delay[0]);
			expect(out.map((x) => [x.orderId, x.delayNotice.sent, x.delayNotice.skipped ?? null])).toEqual([['E-1', true, null], ['E-2', true, null], ['Q-1', false, 'disabled']]);
			expect(out[2].delayNotice.message).toContain('Delay notices are off for SKU QUIET');
			expect(r.outputs.Delay[0].map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
			const mails = await smtp.waitFor(2);
			expect(mails.map((m) => m.to[0]).sort()).toEqual(['e1@example.com', 'e2@example.com']);
			expect(mails[0].text).toContain('预计 6 小时 / 6 hours 内发货');
			expect(mails[0].subject).toContain('【Empty 空】订单处理中');
			// the shop's retry: the same execution again → nothing more
			const again = await run([start(), data(orders), claim(), delay()], connect('Claim', 1, 'Delay', chain('Start', 'Data', 'Claim')));
			expect(json(again.outputs.Delay[0]).map((x) => x.delayNotice.skipped)).toEqual(['already_sent', 'already_sent', 'disabled']);
			expect(smtp.messages).toHaveLength(2);
			expect((await store.listWaiting({ sku: 'EMPTY' })).map((l) => l.orderId)).toEqual(['E-1', 'E-2']);
		});

		it('Claim Key with Record Waiting Lines off records nothing', async () => {
			const r = await run([start(), data([paid('OFF-1', 'EMPTY', 'off@example.com')]), claim({ waitingLines: false })]);
			expect(json(r.outputs.Claim[1])[0]).toMatchObject({ orderId: 'OFF-1', reason: 'out_of_stock' });
			expect(json(r.outputs.Claim[1])[0].waiting).toBeUndefined();
			expect(await store.listWaiting({ orderId: 'OFF-1' })).toEqual([]);
		});

		it('Risk Check → Review holds the line; the delay notice goes out; an import does not deliver it, approval does', async () => {
			await store.importKeys({ sku: 'REVIEWED', keys: ['REV-KEY-0001-SECRETX'], productName: 'Reviewed' });
			await store.upsertProduct({ sku: 'REVIEWED', settings: { delayNotice: true } });
			const order = paid('RV-1', 'REVIEWED', 'rv@example.com', { amount: 5000 });
			const risk = node('Risk', RISK, { operation: 'evaluate', amountThreshold: 1000 });
			const r = await run([start(), data([order]), risk, delay({ expectedWithinFallback: '1 天 / 1 day' })], connect('Risk', 1, 'Delay', chain('Start', 'Data', 'Risk')));
			expect(r.status).toBe('success');
			const review = json(r.outputs.Risk[1]);
			expect(review[0]).toMatchObject({ orderId: 'RV-1', risk: { decision: 'review' }, waiting: { reason: 'review', status: 'waiting' } });
			expect(json(r.outputs.Delay[0])[0].delayNotice).toMatchObject({ sent: true, expectedWithin: '1 天 / 1 day', recipient: 'rv@example.com' });
			expect((await smtp.waitFor(1))[0].text).toContain('expected within 1 天 / 1 day');
			// new stock does not complete a line held for review
			const complete = node('Complete', POOL, { operation: 'completeWaiting', waitingSku: 'REVIEWED' }, { typeVersion: 2 });
			const c = await run([start(), complete]);
			expect(json(c.outputs.Complete?.[0])).toEqual([]);
			// approved → Claim Key delivers and ends the waiting line
			const approve = node('Approve', RISK, { operation: 'approveHeld', orderId: 'RV-1', line: 'REVIEWED' });
			const a = await run([start(), approve, claim({ quantity: '={{ $json.quantity || 1 }}' })]);
			expect(json(a.outputs.Claim[0])[0]).toMatchObject({ orderId: 'RV-1', sku: 'REVIEWED' });
			expect(await store.listWaiting({ orderId: 'RV-1' })).toEqual([]);
			expect((await store.listWaiting({ orderId: 'RV-1', status: 'delivered' }))[0].deliveryId).toBe(json(a.outputs.Claim[0])[0].deliveryId);
		});

		it('Complete Waiting Orders after an import → Notify Buyer → the waiting buyers get their keys in order of payment', async () => {
			const importNode = node('Import', POOL, { operation: 'import', sku: 'EMPTY', source: 'text', format: 'txt', keysText: KEYS.slice(0, 3).join('\n') });
			const complete = node('Complete', POOL, { operation: 'completeWaiting' });
			const notify = node('Notify', NOTIFY, { operation: 'send', findBy: 'deliveryId', channel: 'email' });
			const r = await run([start(), importNode, complete, notify]);
			expect(r.status).toBe('success');
			const done = json(r.outputs.Complete[0]);
			expect(done.map((x) => [x.orderId, x.status, x.keysMasked, x.waiting.status])).toEqual([['E-1', 'claimed', true, 'delivered'], ['E-2', 'claimed', true, 'delivered']]);
			expect(done[0]).toMatchObject({ quantity: 1, alreadyDelivered: false, buyer: { email: 'e1@example.com' }, keys: [expect.stringMatching(/…/)] });
			expect(r.outputs.Complete[0].map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
			const mails = await smtp.waitFor(2);
			expect(mails.map((m) => [m.to[0], KEYS.findIndex((k) => m.text.includes(k))])).toEqual([['e1@example.com', 0], ['e2@example.com', 1]]);
			// nothing waits any more: a second completion outputs nothing and sends nothing
			const again = await run([start(), node('Complete', POOL, { operation: 'completeWaiting', waitingSku: 'EMPTY' }), node('Notify', NOTIFY, { operation: 'send' })]);
			expect(json(again.outputs.Complete[0])).toEqual([]);
			expect(smtp.messages).toHaveLength(2);
			// bad input: a missing SKU names the field and the item
			const bad = await run([start(), data([{ sku: '' }]), node('Complete', POOL, { operation: 'completeWaiting' })]);
			expect(bad.status).toBe('error');
			expect(bad.error?.message).toBe('SKU is required.');
		});

		it('a failed delay notice: an error with the item index, or under continueOnFail an item saying so; retried later', async () => {
			await store.holdLine({ orderId: 'FAIL-1', sku: 'EMPTY', reason: 'out_of_stock', buyer: { email: 'fail@example.com' } });
			smtp.setFault('reject');
			const items = [{ orderId: 'FAIL-1', sku: 'EMPTY' }];
			const r = await run([start(), data(items), delay()]);
			expect(r.status).toBe('error');
			expect(r.error?.message).toMatch(/delay notice of Order FAIL-1 was not sent/);
			expect((r.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
			const c = await run([start(), data(items), delay({}, { onError: 'continueRegularOutput' })]);
			expect(json(c.outputs.Delay[0])[0]).toMatchObject({ orderId: 'FAIL-1', delayNotice: { sent: false, error: expect.stringContaining('was not sent') } });
			smtp.setFault('none');
			const ok = await run([start(), data(items), delay()]);
			expect(json(ok.outputs.Delay[0])[0].delayNotice).toMatchObject({ sent: true, retried: true });
			// a delay template that would carry the keys is refused, nothing recorded
			await store.holdLine({ orderId: 'FAIL-2', sku: 'EMPTY', reason: 'out_of_stock', buyer: { email: 'fail2@example.com' } });
			const bad = await run([start(), data([{ orderId: 'FAIL-2', sku: 'EMPTY' }]), delay({ emailFormat: 'text', delayText: 'Here: {发货内容}' })]);
			expect(bad.status).toBe('error');
			expect(bad.error?.message).toMatch(/never carries the keys/);
			expect(await store.getNotice({ orderId: 'FAIL-2', kind: 'delay' })).toBeNull();
		});

		it('no key in outputs, errors or logs', async () => {
			const text = captured.join('\n');
			for (const k of KEYS) expect(text).not.toContain(k);
		});
	});
}
