/**
 * Key Pool and Claim Key running inside n8n's own engine (n8n-core WorkflowExecute) on workflow
 * JSON, with a real SQLite store (and PostgreSQL for the credential test's failure modes).
 */
import * as iconv from 'iconv-lite';
import type { IExecuteFunctions, INode, INodeType } from 'n8n-workflow';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import { closeAllStores } from '../../nodes/core/store';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { testKeyStoreCredential } from '../../nodes/shared/store';
import { dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';
import { captureOutput } from '../helpers/capture';
import { claimParams } from '../helpers/nodeParams';

const POOL = 'n8n-nodes-auto-delivery.keyPool';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';

const cfg = storeConfig('sqlite');
const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
/** Emits one item holding a file in a binary property, as a form upload or Read File node would. */
const binaryFileNode: INodeType = {
	description: {
		displayName: 'Binary File', name: 'binaryFile', group: ['transform'], version: 1, description: 'test', defaults: { name: 'File' },
		inputs: ['main'] as never, outputs: ['main'] as never,
		properties: [
			{ displayName: 'Base64', name: 'base64', type: 'string', default: '' },
			{ displayName: 'File Name', name: 'fileName', type: 'string', default: 'keys.txt' },
		],
	},
	async execute(this: IExecuteFunctions) {
		const buf = Buffer.from(this.getNodeParameter('base64', 0) as string, 'base64');
		const data = await this.helpers.prepareBinaryData(buf, this.getNodeParameter('fileName', 0) as string, 'text/plain');
		return [[{ json: {}, binary: { data }, pairedItem: { item: 0 } }]];
	},
};

const nodeTypes: Record<string, INodeType> = {
	'test.binaryFile': binaryFileNode,
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
	[POOL]: new KeyPool(),
	[CLAIM]: new ClaimKey(),
};

const { node, start, data, json } = workflowBuilders();

async function run(nodes: INode[], connections = chain(...nodes.map((x) => x.name)), credentials = [{ type: 'autoDeliveryKeyStore', data: credData }]) {
	return runWorkflow({ nodes, connections }, { nodeTypes, credentials });
}

const KEYS = ['GAME-KEY-AAAA-0001', 'GAME-KEY-BBBB-0002', 'GAME-KEY-CCCC-0003', 'GAME-KEY-DDDD-0004'];

// Everything written to stdout/stderr/console while the nodes run, to prove no key reaches a log.
const captured = captureOutput();

afterAll(async () => {
	await closeAllStores();
	await dropStore(cfg);
});

describe('Key Pool node in the n8n engine', () => {
	it('imports keys from text and reports counts, with pairedItem', async () => {
		const r = await run([
			start(),
			node('Import', POOL, { operation: 'import', sku: 'STEAM-50', source: 'text', format: 'txt', keysText: [...KEYS, KEYS[0], '', '  '].join('\r\n'), batchId: 'b1', productName: 'Steam 50' }),
		]);
		expect(r.status).toBe('success');
		expect(json(r.outputs.Import[0])).toEqual([{ sku: 'STEAM-50', batchId: 'b1', received: 7, imported: 4, duplicate: 1, invalid: 0, blank: 2 }]);
		expect(r.outputs.Import[0][0].pairedItem).toEqual({ item: 0 });
	});

	it('imports a CSV column by header name from a mapped field', async () => {
		const csv = 'id,code,note\r\n1,"CSV-KEY,0001",a\r\n2,CSV-KEY-0002,b\r\n3,,c\r\n';
		const r = await run([
			start(),
			data([{ csv }]),
			node('Import', POOL, { operation: 'import', sku: 'CSV', source: 'text', format: 'csv', keysText: '={{ $json.csv }}', column: 'code', hasHeader: true, delimiter: ',' }),
		]);
		expect(r.status).toBe('success');
		expect(json(r.outputs.Import[0])[0]).toMatchObject({ sku: 'CSV', imported: 2, blank: 1 });
	});

	it('gets stock per SKU and lists keys masked', async () => {
		const r = await run([start(), node('Stock', POOL, { operation: 'getStock', skuFilter: '' })]);
		const rows = json(r.outputs.Stock[0]);
		expect(rows.find((x) => x.sku === 'STEAM-50')).toMatchObject({ name: 'Steam 50', available: 4, assigned: 0 });
		const l = await run([start(), node('List', POOL, { operation: 'listKeys', sku: 'STEAM-50', status: 'all', limit: 10, offset: 0 })]);
		expect(json(l.outputs.List[0]).map((k) => k.masked)).toEqual(['GAME…0001', 'GAME…0002', 'GAME…0003', 'GAME…0004']);
		expect(JSON.stringify(l.runData)).not.toContain('GAME-KEY');
	});

	it('a bad SKU fails with the item index, or continues with an error item', async () => {
		const nodes = [start(), data([{ sku: 'OK' }, { sku: '' }]), node('List', POOL, { operation: 'listKeys', sku: '={{ $json.sku }}', status: 'all', limit: 10, offset: 0 })];
		const r = await run(nodes);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/SKU is required/);
		expect((r.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
		nodes[2] = { ...nodes[2], onError: 'continueRegularOutput' };
		const c = await run(nodes);
		expect(c.status).toBe('success');
		const out = c.outputs.List[0];
		expect(out[out.length - 1].json.error).toMatch(/SKU is required/);
		expect(out[out.length - 1].pairedItem).toEqual({ item: 1 });
	});
});

describe('Claim Key node in the n8n engine', () => {
	const orders = [
		{ orderId: 'T1', sku: 'STEAM-50', quantity: 2, buyer: { id: 'u1', email: 'a@example.com' } },
		{ orderId: 'T2', sku: 'NOPE', quantity: 1, buyer: { id: 'u2' } },
		{ orderId: 'T3', sku: 'STEAM-50', quantity: 5, buyer: { id: 'u3' } },
		{ orderId: 'T4', sku: 'STEAM-50', quantity: 1, buyer: { id: 'u4' } },
	];
	const claimNode = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) =>
		node('Claim', CLAIM, {
			...claimParams({ buyerId: '={{ $json.buyer.id }}', buyerEmail: '={{ $json.buyer.email }}' }),
			...params,
		}, extra);

	it('routes orders to Delivered / Not Delivered with masked keys and no key text in execution data', async () => {
		const r = await run([start(), data(orders), claimNode()]);
		expect(r.status).toBe('success');
		const [delivered, notDelivered] = r.outputs.Claim;
		expect(json(delivered)).toEqual([
			expect.objectContaining({ orderId: 'T1', sku: 'STEAM-50', quantity: 2, status: 'claimed', keys: ['GAME…0001', 'GAME…0002'], alreadyDelivered: false, keysMasked: true }),
			expect.objectContaining({ orderId: 'T4', quantity: 1, keys: ['GAME…0003'], alreadyDelivered: false }),
		]);
		expect(json(delivered)[0].buyer).toMatchObject({ id: 'u1', email: 'a@example.com' });
		expect(delivered.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 3 }]);
		expect(json(notDelivered)).toEqual([
			expect.objectContaining({ orderId: 'T2', reason: 'unknown_sku', status: 'not_delivered' }),
			expect.objectContaining({ orderId: 'T3', reason: 'out_of_stock', available: 2, message: expect.stringMatching(/Out of stock/) }),
		]);
		expect(notDelivered.map((i) => i.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
		expect(JSON.stringify(r.raw)).not.toContain('GAME-KEY');
	});

	it('a replay (webhook retry) returns the same keys, marked alreadyDelivered', async () => {
		const r = await run([start(), data([orders[0], orders[3]]), claimNode({ includeKeys: true })]);
		expect(json(r.outputs.Claim[0])).toEqual([
			expect.objectContaining({ orderId: 'T1', keys: ['GAME-KEY-AAAA-0001', 'GAME-KEY-BBBB-0002'], alreadyDelivered: true, keysMasked: false }),
			expect.objectContaining({ orderId: 'T4', keys: ['GAME-KEY-CCCC-0003'], alreadyDelivered: true }),
		]);
	});

	it('bad input fails with the item index and writes nothing; with continueOnFail it goes to Not Delivered', async () => {
		const bad = [{ orderId: 'T9', sku: 'STEAM-50', quantity: 0, buyer: {} }];
		const r = await run([start(), data(bad), claimNode()]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/Quantity must be a whole number of at least 1/);
		const c = await run([start(), data([...bad, { orderId: 'T10', sku: 'STEAM-50', quantity: 1.5, buyer: {} }]), claimNode({}, { onError: 'continueRegularOutput' })]);
		expect(c.status).toBe('success');
		expect(c.outputs.Claim[0] ?? []).toEqual([]);
		expect(json(c.outputs.Claim[1])).toEqual([
			expect.objectContaining({ status: 'not_delivered', reason: 'error', error: expect.stringMatching(/Quantity/) }),
			expect.objectContaining({ status: 'not_delivered', reason: 'error' }),
		]);
		const stock = await run([start(), node('Stock', POOL, { operation: 'getStock', skuFilter: 'STEAM-50' })]);
		expect(json(stock.outputs.Stock[0])[0]).toMatchObject({ available: 1, assigned: 3 });
	});

	it('a wrong Encryption Secret fails clearly and delivers nothing', async () => {
		const r = await run([start(), data([orders[3]]), claimNode()], undefined, [{ type: 'autoDeliveryKeyStore', data: { ...credData, encryptionSecret: 'not the secret' } }]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/Encryption Secret does not match/);
	});

	it('Get Delivery shows masked keys unless asked; Export Keys gives a CSV backup', async () => {
		const g = await run([start(), node('Get', POOL, { operation: 'getDelivery', orderId: 'T1', deliverySku: '', includeKeys: false })]);
		expect(json(g.outputs.Get[0])).toEqual([expect.objectContaining({ orderId: 'T1', keys: ['GAME…0001', 'GAME…0002'], status: 'claimed' })]);
		const e = await run([start(), node('Export', POOL, { operation: 'exportKeys', skuFilter: 'STEAM-50', status: 'all', outputBinaryPropertyName: 'data', fileName: 'backup.csv' })]);
		expect(e.status).toBe('success');
		const item = e.outputs.Export[0][0];
		expect(item.json).toMatchObject({ exported: 4, fileName: 'backup.csv' });
		const csv = Buffer.from(item.binary!.data.data, 'base64').toString('utf8');
		expect(csv.split('\r\n')[0]).toBe('\ufeffid,sku,key,status,batch_id,order_id,created_at,shop');
		expect(csv).toContain('GAME-KEY-AAAA-0001,assigned,b1,T1');
	});

	it('Key Pool version 2 groups the same operations by resource (Key, Product, Delivery)', async () => {
		const v2 = { typeVersion: 2 };
		const stock = await run([start(), node('Stock', POOL, { resource: 'key', operation: 'getStock', skuFilter: 'STEAM-50' }, v2)]);
		expect(json(stock.outputs.Stock[0])).toEqual([expect.objectContaining({ sku: 'STEAM-50', total: 4 })]);
		const product = await run([start(), node('Product', POOL, { resource: 'product', operation: 'upsertProduct', sku: 'V2-PRODUCT', name: 'Version two', lowStockThreshold: 3, fixedContentMode: 'keep' }, v2)]);
		expect(json(product.outputs.Product[0])).toEqual([expect.objectContaining({ sku: 'V2-PRODUCT', name: 'Version two', lowStockThreshold: 3 })]);
		const delivery = await run([start(), node('Get', POOL, { resource: 'delivery', operation: 'getDelivery', orderId: 'T1', deliverySku: '', includeKeys: false }, v2)]);
		expect(json(delivery.outputs.Get[0])).toEqual([expect.objectContaining({ orderId: 'T1', keys: ['GAME…0001', 'GAME…0002'] })]);
		// the resource defaults to Key, the operation to Import
		const imported = await run([start(), node('Import', POOL, { sku: 'V2-KEYS', keysText: 'V2-KEY-0001\nV2-KEY-0002' }, v2)]);
		expect(json(imported.outputs.Import[0])).toEqual([expect.objectContaining({ sku: 'V2-KEYS', imported: 2 })]);
	});

	it('Void Keys only touches available keys; Upsert Product sets fixed content that Claim delivers', async () => {
		const v = await run([start(), node('Void', POOL, { operation: 'voidKeys', sku: 'STEAM-50', voidSelector: 'all', reason: 'test' })]);
		expect(json(v.outputs.Void[0])).toEqual([{ sku: 'STEAM-50', voided: 1, requested: null }]);
		const p = await run([start(), node('Product', POOL, { operation: 'upsertProduct', sku: 'LINK', name: 'Course', lowStockThreshold: -1, fixedContentMode: 'set', fixedContent: 'https://example.com/dl?t=SECRET-LINK' })]);
		expect(json(p.outputs.Product[0])[0]).toMatchObject({ sku: 'LINK', name: 'Course', hasFixedContent: true, lowStockThreshold: null });
		const c = await run([start(), data([{ orderId: 'T20', sku: 'LINK', quantity: 1, buyer: {} }]), claimNode()]);
		expect(json(c.outputs.Claim[0])[0]).toMatchObject({ fixedContent: true, keys: ['http…LINK'] });
		expect(JSON.stringify(c.raw)).not.toContain('SECRET-LINK');
	});
});

describe('Key Pool import from a file (binary property)', () => {
	it('reads a GBK text file with CRLF and a UTF-16LE file with BOM', async () => {
		const gbk = iconv.encode('卡密-甲-0001\r\n卡密-乙-0002\r\n\r\n', 'gbk');
		const r = await run([
			start(),
			node('File', 'test.binaryFile', { base64: gbk.toString('base64'), fileName: 'keys-gbk.txt' }),
			node('Import', POOL, { operation: 'import', sku: 'CN', source: 'binary', binaryPropertyName: 'data', format: 'txt', encoding: 'auto', batchId: '', productName: '' }),
		]);
		expect(r.status).toBe('success');
		expect(json(r.outputs.Import[0])[0]).toMatchObject({ sku: 'CN', imported: 2, blank: 1, fileName: 'keys-gbk.txt' });
		const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('code,note\r\nU16-KEY-0001,a\r\n', 'utf16le')]);
		const r2 = await run([
			start(),
			node('File', 'test.binaryFile', { base64: utf16.toString('base64'), fileName: 'keys.csv' }),
			node('Import', POOL, { operation: 'import', sku: 'CN', source: 'binary', binaryPropertyName: 'data', format: 'csv', column: 'code', hasHeader: true, delimiter: ',', encoding: 'auto', batchId: '', productName: '' }),
		]);
		expect(json(r2.outputs.Import[0])[0]).toMatchObject({ imported: 1 });
		const g = await run([start(), data([{ orderId: 'CN-1', sku: 'CN', quantity: 3, buyer: {} }]), node('Claim', CLAIM, { orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: 3, strategy: 'sequential', includeKeys: true })]);
		expect(json(g.outputs.Claim[0])[0].keys).toEqual(['卡密-甲-0001', '卡密-乙-0002', 'U16-KEY-0001']);
	});

	it('a missing binary property or a bad CSV column is a clear item error and imports nothing', async () => {
		const r = await run([start(), node('Import', POOL, { operation: 'import', sku: 'CN', source: 'binary', binaryPropertyName: 'data', format: 'txt', encoding: 'auto', batchId: '', productName: '' })]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/data/);
		const csv = Buffer.from('id,key\n1,NEVER-IMPORTED-1\n');
		const r2 = await run([
			start(),
			node('File', 'test.binaryFile', { base64: csv.toString('base64'), fileName: 'k.csv' }),
			node('Import', POOL, { operation: 'import', sku: 'CN', source: 'binary', binaryPropertyName: 'data', format: 'csv', column: 'code', hasHeader: true, delimiter: ',', encoding: 'auto', batchId: '', productName: '' }),
		]);
		expect(r2.status).toBe('error');
		expect(r2.error?.message).toMatch(/CSV column "code" not found in header: id, key/);
		const s = await run([start(), node('Stock', POOL, { operation: 'getStock', skuFilter: 'CN' })]);
		expect(json(s.outputs.Stock[0])[0]).toMatchObject({ total: 3 });
	});
});

describe('Key store credential test', () => {
	const test = (data: Record<string, unknown>) => testKeyStoreCredential.call({} as never, { id: '1', name: 'c', type: 'autoDeliveryKeyStore', data } as never);

	it('connects, migrates and checks the secret', async () => {
		expect(await test(credData)).toMatchObject({ status: 'OK' });
		expect(await test({ ...credData, encryptionSecret: 'wrong' })).toEqual({ status: 'Error', message: expect.stringMatching(/Encryption Secret does not match/) });
		expect(await test({ ...credData, encryptionSecret: '' })).toEqual({ status: 'Error', message: expect.stringMatching(/Encryption Secret is required/) });
	});

	it('names an unreachable server and a refused login', async () => {
		expect(await test({ database: 'postgres', host: '127.0.0.1', port: 1, databaseName: 'test', user: 'postgres', encryptionSecret: 'x' })).toEqual({
			status: 'Error',
			message: expect.stringMatching(/Cannot reach the PostgreSQL at 127.0.0.1:1/),
		});
		expect(await test({ database: 'mysql', host: '127.0.0.1', port: 3306, databaseName: 'test', user: 'nobody_here', password: 'bad', encryptionSecret: 'x' })).toEqual({
			status: 'Error',
			message: expect.stringMatching(/refused the login/),
		});
	});
});

describe('secret hygiene', () => {
	it('no plaintext key reached stdout, stderr or the console while the nodes ran', () => {
		const all = captured.join('\n');
		for (const k of [...KEYS, 'CSV-KEY', 'SECRET-LINK', '卡密-甲-0001', 'U16-KEY-0001', 'NEVER-IMPORTED-1']) {
			expect({ k, leaked: all.includes(k) }).toEqual({ k, leaked: false });
		}
	});
});

describe('bundled workflow workflows/key-store-quickstart.json', () => {
	const stickyNote: INodeType = {
		description: { displayName: 'Sticky Note', name: 'stickyNote', group: ['input'], version: 1, description: 'note', defaults: { name: 'Sticky Note' }, inputs: [], outputs: [], properties: [] },
	};
	it('runs in the engine: imports, claims masked keys, and a second run replays the same delivery', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const wf = require('../../workflows/key-store-quickstart.json');
		const qcfg = storeConfig('sqlite');
		const opts = {
			nodeTypes: { ...nodeTypes, 'n8n-nodes-base.stickyNote': stickyNote },
			credentials: [{ id: 'adKeyStore0001', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: qcfg.sqlitePath, encryptionSecret: 'quickstart' } }],
		};
		try {
			const first = await runWorkflow(wf, opts);
			expect(first.status).toBe('success');
			expect(json(first.outputs['Import Demo Keys'][0])[0]).toMatchObject({ imported: 3 });
			const claimed = json(first.outputs['Claim Key'][0])[0];
			expect(claimed).toMatchObject({ orderId: 'DEMO-ORDER-1', keys: ['DEMO…0001', 'DEMO…0002'], alreadyDelivered: false });
			expect(json(first.outputs['Stock After Claim'][0])[0]).toMatchObject({ available: 1, assigned: 2 });
			const second = await runWorkflow(wf, opts);
			expect(json(second.outputs['Import Demo Keys'][0])[0]).toMatchObject({ imported: 0, duplicate: 3 });
			expect(json(second.outputs['Claim Key'][0])[0]).toMatchObject({ keyIds: claimed.keyIds, alreadyDelivered: true });
			expect(JSON.stringify(second.raw)).not.toContain('DEMO-AAAA-BBBB-0002');
		} finally {
			await closeAllStores();
			await dropStore(qcfg);
		}
	});
});
