/**
 * External API products through the nodes inside n8n's own engine (n8n-core WorkflowExecute), with
 * a real SQLite store and a real local content API: Key Pool → Upsert Product (Content Source
 * External API; bad settings name the field and store nothing), Claim Key (Delivered masked or
 * plain as asked, a failing API → Not Delivered `api_failed` with pairedItem, continueOnFail),
 * Revoke on Refund (`revokeCall`), Stock Alert → Check Deliveries (the held line), and no content or
 * token in execution data or the console.
 */
import type { INode, INodeType } from 'n8n-workflow';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import { type KeyStore, closeAllStores, getStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { RevokeOnRefund } from '../../nodes/RevokeOnRefund/RevokeOnRefund.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { StockAlert } from '../../nodes/StockAlert/StockAlert.node';
import { captureOutput } from '../helpers/capture';
import { type ContentApi, startContentApi } from '../helpers/contentApiServer';
import { dropStore, storeConfig } from '../helpers/db';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';
import { claimParams } from '../helpers/nodeParams';

const POOL = 'n8n-nodes-auto-delivery.keyPool';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
const REVOKE = 'n8n-nodes-auto-delivery.revokeOnRefund';
const STOCK = 'n8n-nodes-auto-delivery.stockAlert';
const nodeTypes: Record<string, INodeType> = { [POOL]: new KeyPool(), [CLAIM]: new ClaimKey(), [REVOKE]: new RevokeOnRefund(), [STOCK]: new StockAlert() };
const { node, start, data, json } = workflowBuilders();

const cfg = storeConfig('sqlite');
const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
const run = (nodes: INode[]) => runWorkflow({ nodes, connections: chain(...nodes.map((x) => x.name)) }, { nodeTypes, credentials: [{ type: 'autoDeliveryKeyStore', data: credData }] });
const TOKEN = 'node-api-token-SECRET-77aa';
const captured = captureOutput();

let api: ContentApi;
let store: KeyStore;
beforeAll(async () => {
	api = await startContentApi({ prefix: 'NODE' });
	store = await getStore(storeConfigFromCredentials(credData as never));
});
afterAll(async () => {
	await api.close();
	await closeAllStores();
	await dropStore(cfg);
});

const upsert = (over: Record<string, unknown> = {}) =>
	node('Product', POOL, {
		resource: 'product',
		operation: 'upsertProduct',
		sku: 'NODE-API',
		name: 'Node API product',
		lowStockThreshold: -1,
		fixedContentMode: 'keep',
		kind: 'api',
		apiUrl: `${api.url}/codes?token=${TOKEN}`,
		apiMethod: 'POST',
		apiHeaders: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }),
		apiBody: '{"orderId": "{orderId}", "quantity": {quantity}}',
		apiContentPath: 'data.codes',
		apiTimeoutMs: 2000,
		apiRetries: 0,
		apiRevoke: { url: `${api.url}/revoke`, body: '{"codes": "{deliveryContent}"}' },
		...over,
	});
const line = (orderId: string, quantity = 1) => ({ orderId, sku: 'NODE-API', quantity, buyerName: '小明' });

describe('External API products in the n8n engine', () => {
	it('Upsert Product stores the endpoint (never shown); bad settings name the field and store nothing', async () => {
		const bad = await run([start(), upsert({ sku: 'NODE-BAD', apiHeaders: '{"Authorization": 5, "X": [1]}' })]);
		expect(bad.status).toBe('error');
		expect(bad.error?.message).toBe('The value of header "X" must be text.');
		expect(String((bad.error as unknown as { description?: string }).description)).toContain('Field: apiHeaders');
		expect(await store.getProduct('NODE-BAD')).toBeNull();
		const r = await run([start(), upsert()]);
		expect(r.status).toBe('success');
		const [p] = json(r.outputs.Product[0]);
		expect(p).toMatchObject({ sku: 'NODE-API', kind: 'api', hasApiConfig: true });
		expect(JSON.stringify(r.outputs)).not.toContain(TOKEN);
		expect(JSON.stringify(await store.listEvents({ sku: 'NODE-API' }))).not.toContain(TOKEN);
	});

	it('Claim Key: delivered (masked), api_failed to Not Delivered with its pairedItem, a replay without a call', async () => {
		api.faults(['ok', 503]);
		const items = [line('N-1', 2), line('N-2'), line('N-1', 2)];
		const r = await run([start(), data(items), node('Claim', CLAIM, claimParams({ buyerName: '={{ $json.buyerName }}' }))]);
		expect(r.status).toBe('success');
		const [ok, notDelivered] = r.outputs.Claim;
		const codes = api.issued.get(':N-1:NODE-API') as string[];
		expect(api.requests.map((x) => x.idempotencyKey)).toEqual([':N-1:NODE-API', ':N-2:NODE-API']);
		expect(json(ok).map((x) => [x.orderId, x.alreadyDelivered, x.externalApi, x.keysMasked, x.keys, x.keyIds])).toEqual([
			['N-1', false, true, true, codes.map((c) => `${c.slice(0, 4)}…${c.slice(-4)}`), [null, null]],
			['N-1', true, true, true, codes.map((c) => `${c.slice(0, 4)}…${c.slice(-4)}`), [null, null]],
		]);
		expect(ok.map((x) => x.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
		expect(json(notDelivered)).toEqual([
			{ orderId: 'N-2', shop: null, sku: 'NODE-API', quantity: 1, status: 'not_delivered', reason: 'api_failed', message: expect.stringMatching(/^The content API 127\.0\.0\.1:\d+ failed: The server answered 503 .* The content API of NODE-API failed, so nothing was delivered; the order line is held/) },
		]);
		expect(notDelivered[0].pairedItem).toEqual({ item: 1 });
		expect(await store.listWaiting({ orderId: 'N-2' })).toEqual([expect.objectContaining({ reason: 'api_failed', buyer: expect.objectContaining({ name: '小明' }) })]);
		const text = JSON.stringify(r.raw) + captured.join('\n');
		for (const c of codes) expect(text).not.toContain(c);
		expect(text).not.toContain(TOKEN);
	});

	it('Claim Key with Include Keys gives the content; bad input fails the item, or goes to Not Delivered under continueOnFail', async () => {
		const r = await run([start(), data([line('N-1', 2)]), node('Claim', CLAIM, { ...claimParams({}), includeKeys: true })]);
		expect(json(r.outputs.Claim[0])[0].keys).toEqual(api.issued.get(':N-1:NODE-API'));
		const before = api.requests.length;
		const bad = [line('N-3'), { ...line(''), orderId: '' }];
		const failed = await run([start(), data(bad), node('Claim', CLAIM, claimParams({}))]);
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toBe('Order ID is required.');
		const c = await run([start(), data(bad), node('Claim', CLAIM, claimParams({}), { onError: 'continueRegularOutput' })]);
		expect(c.status).toBe('success');
		expect(json(c.outputs.Claim[0]).map((x) => x.orderId)).toEqual(['N-3']);
		expect(json(c.outputs.Claim[1])).toEqual([{ status: 'not_delivered', reason: 'error', error: 'Order ID is required.' }]);
		expect(c.outputs.Claim[1][0].pairedItem).toEqual({ item: 1 });
		expect(api.requests.length - before).toBe(1); // N-3: called by the first run (before item 1 failed), replayed by the second
	});

	it('Stock Alert lists the held line; Revoke on Refund reports the revoke call', async () => {
		const { db, t } = internals(store);
		await db(t.waiting).where({ order_id: 'N-2' }).update({ created_at: Date.now() - 30 * 60000 });
		const s = await run([start(), node('Check', STOCK, { operation: 'checkDeliveries', notSentMinutes: 15, notShippedMinutes: 60, waitingMinutes: 15, limit: 50 })]);
		expect(json(s.outputs.Check[0]).filter((x) => x.problem === 'waiting')).toEqual([
			expect.objectContaining({ orderId: 'N-2', sku: 'NODE-API', reason: 'api_failed', ageMinutes: 30, message: expect.stringContaining('the content API failed') }),
		]);
		const off = await run([start(), node('Check', STOCK, { operation: 'checkDeliveries', notSentMinutes: 15, notShippedMinutes: 60, waitingMinutes: 0, limit: 50 })]);
		expect(json(off.outputs.Check[0]).filter((x) => x.problem === 'waiting')).toEqual([]);
		const before = api.requests.length;
		const rv = await run([start(), node('Revoke', REVOKE, { orderId: 'N-1', shop: '', sku: 'NODE-API', reason: 'refund', returnUnsent: false, includeKeys: false })]);
		expect(rv.status).toBe('success');
		const [item] = json(rv.outputs.Revoke[0]);
		expect(item).toMatchObject({ orderId: 'N-1', sku: 'NODE-API', keysMasked: true, revokeCall: { called: true, ok: true, status: 200, attempts: 1 } });
		expect(api.requests.slice(before).map((x) => [x.path, x.idempotencyKey])).toEqual([['/revoke', ':N-1:NODE-API:revoke']]);
		for (const c of api.issued.get(':N-1:NODE-API') as string[]) expect(JSON.stringify(rv.raw)).not.toContain(c);
	});
});
