/**
 * Smoke test of the e2e infrastructure with what the package ships today: the packed tarball is
 * installed into a real n8n 2.41.1, the key store credential and two small workflows are imported
 * with n8n's CLI and published, n8n is started, and the workflows are called over HTTP:
 *
 *   POST /webhook/ad-smoke-claim  → Claim Key → Respond (200 delivered / 409 not delivered)
 *   GET  /webhook/ad-smoke-stock  → Key Pool (Get Stock) → Respond (all items)
 *
 * The package is installed the way n8n's Community Nodes installer does it (`npm install
 * --ignore-scripts`: our sqlite3 gets no native binding), so the SQLite store runs on the sqlite3
 * that n8n itself ships (nodes/core/connection.ts loadSqlite3).
 * The store is the credential's default SQLite file (<N8N_USER_FOLDER>/.n8n/auto-delivery.sqlite),
 * seeded before n8n starts. Afterwards: no plaintext key (and not the Encryption Secret) in n8n's
 * execution data or in anything n8n printed; the keys n8n delivered are the right ones.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';


/** An n8n Webhook node that answers through a Respond to Webhook node. */
function webhookNode(id: string, name: string, webhookId: string, httpMethod: string, path: string) {
	return { id, name, type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId, parameters: { httpMethod, path, responseMode: 'responseNode', options: {} } };
}

const SECRET = `e2e-store-secret-${randomBytes(6).toString('hex')}`;
const SKU = 'SMOKE-STEAM-50';
const KEYS = Array.from({ length: 3 }, (_, i) => `SMK${i + 1}-${randomBytes(6).toString('hex').toUpperCase()}-KEY`);
const CRED = { id: 'adSmokeKeyStore1', name: 'Smoke Key Store' };
const credRef = { autoDeliveryKeyStore: CRED };

const claimWorkflow: WorkflowInput = {
	id: 'adSmokeClaimWf01',
	name: 'smoke: webhook → claim key',
	nodes: [
		webhookNode('c1', 'Order Webhook', '5b0f3c4e-9d0a-4a57-8a6e-3c1d2e4f5a01', 'POST', 'ad-smoke-claim'),
		{
			id: 'c2',
			name: 'Claim Key',
			type: 'n8n-nodes-auto-delivery.claimKey',
			typeVersion: 1,
			position: [220, 0],
			parameters: {
				orderId: '={{ $json.body.orderId }}',
				sku: '={{ $json.body.sku }}',
				quantity: '={{ $json.body.quantity }}',
				strategy: 'sequential',
				details: { buyerName: '={{ $json.body.buyer }}' },
			},
			credentials: credRef,
		},
		{
			id: 'c3',
			name: 'Respond Delivered',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.1,
			position: [440, -80],
			parameters: { respondWith: 'firstIncomingItem', options: {} },
		},
		{
			id: 'c4',
			name: 'Respond Not Delivered',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.1,
			position: [440, 80],
			parameters: { respondWith: 'firstIncomingItem', options: { responseCode: 409 } },
		},
	],
	connections: {
		'Order Webhook': { main: [[{ node: 'Claim Key', type: 'main', index: 0 }]] },
		'Claim Key': {
			main: [[{ node: 'Respond Delivered', type: 'main', index: 0 }], [{ node: 'Respond Not Delivered', type: 'main', index: 0 }]],
		},
	},
	settings: { executionOrder: 'v1' },
};

const stockWorkflow: WorkflowInput = {
	id: 'adSmokeStockWf01',
	name: 'smoke: webhook → stock',
	nodes: [
		webhookNode('s1', 'Stock Webhook', '5b0f3c4e-9d0a-4a57-8a6e-3c1d2e4f5a02', 'GET', 'ad-smoke-stock'),
		{
			id: 's2',
			name: 'Get Stock',
			type: 'n8n-nodes-auto-delivery.keyPool',
			typeVersion: 1,
			position: [220, 0],
			parameters: { operation: 'getStock', skuFilter: '={{ $json.query.sku }}' },
			credentials: credRef,
		},
		{
			id: 's3',
			name: 'Respond Stock',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.1,
			position: [440, 0],
			parameters: { respondWith: 'allIncomingItems', options: {} },
		},
	],
	connections: {
		'Stock Webhook': { main: [[{ node: 'Get Stock', type: 'main', index: 0 }]] },
		'Get Stock': { main: [[{ node: 'Respond Stock', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
};

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
	const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('e2e smoke: the packed package in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let storeFile: string;
	const log = (line: string) => process.stderr.write(`${line}\n`);

	beforeAll(async () => {
		// Debug level: the secret scan below also covers what n8n logs at its most verbose.
		n8n = await createInstance({ log, env: { N8N_LOG_LEVEL: 'debug' } });
		// Installed the way n8n's Community Nodes installer does it (npm install --ignore-scripts): our
		// sqlite3 has no native binding, so the SQLite store must run on the sqlite3 n8n itself ships.
		const installed = await n8n.installPackage(await packTarball({ log }), { sqlite3Binding: 'leave' });
		expect(installed.name).toBe('n8n-nodes-auto-delivery');
		expect(installed.sqlite3.length).toBeGreaterThan(0);
		expect(installed.sqlite3.every((c) => c.binding === 'missing')).toBe(true);

		// Seed the credential's default store file (empty SQLite File → <N8N_USER_FOLDER>/.n8n/auto-delivery.sqlite).
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery.sqlite');
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: SECRET });
		try {
			const imported = await store.importKeys({ sku: SKU, keys: KEYS, productName: 'Steam 50 (smoke)' });
			expect(imported.imported).toBe(3);
		} finally {
			await store.close();
		}

		await n8n.importCredentials([
			{ ...CRED, type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: '', encryptionSecret: SECRET, tablePrefix: 'ad_' } },
		]);
		const ids = await n8n.importWorkflow([claimWorkflow, stockWorkflow]);
		for (const id of ids) await n8n.publish(id);
		await n8n.start();
		log(`[smoke] timings: ${JSON.stringify(n8n.timings)}`);
	});

	afterAll(async () => {
		await n8n?.dispose();
	});

	it('delivers keys through the webhook, masked, and replays idempotently', async () => {
		const first = await post(n8n.webhookUrl('ad-smoke-claim'), { orderId: 'SMOKE-1', sku: SKU, quantity: 2, buyer: '小明' });
		expect(first.status).toBe(200);
		expect(first.json).toMatchObject({ orderId: 'SMOKE-1', sku: SKU, quantity: 2, status: 'claimed', keysMasked: true, alreadyDelivered: false });
		const keys = first.json.keys as string[];
		expect(keys).toHaveLength(2);
		for (const [i, masked] of keys.entries()) {
			expect(masked).not.toBe(KEYS[i]);
			expect(masked.startsWith(KEYS[i].slice(0, 4))).toBe(true);
		}

		const replay = await post(n8n.webhookUrl('ad-smoke-claim'), { orderId: 'SMOKE-1', sku: SKU, quantity: 2, buyer: '小明' });
		expect(replay.status).toBe(200);
		expect(replay.json).toMatchObject({ alreadyDelivered: true, keyIds: first.json.keyIds, keys });
	});

	it('answers 409 on the Not Delivered output when stock is short, without claiming anything', async () => {
		const short = await post(n8n.webhookUrl('ad-smoke-claim'), { orderId: 'SMOKE-2', sku: SKU, quantity: 5 });
		expect(short.status).toBe(409);
		expect(short.json).toMatchObject({ orderId: 'SMOKE-2', status: 'not_delivered', reason: 'out_of_stock', available: 1 });
	});

	it('reports the stock through Key Pool', async () => {
		const res = await fetch(`${n8n.webhookUrl('ad-smoke-stock')}?sku=${SKU}`);
		expect(res.status).toBe(200);
		const body = (await res.json()) as unknown;
		const rows = Array.isArray(body) ? body : [body];
		expect(rows).toEqual([expect.objectContaining({ sku: SKU, available: 1, assigned: 2, total: 3 })]);
	});

	it('lists the AI-agent tool variants of our nodes (Key Pool Tool, Notify Buyer Tool, …)', async () => {
		// n8n writes the node types it serves the editor to <user folder>/.cache/n8n/public/types/nodes.json.
		const file = path.join(n8n.userFolder, '.cache', 'n8n', 'public', 'types', 'nodes.json');
		const types = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ name: string; displayName: string; outputs: unknown; description: string }>;
		const ours = (name: string) => types.filter((t) => t.name === `n8n-nodes-auto-delivery.${name}`);
		for (const name of ['keyPoolTool', 'notifyBuyerTool', 'claimKeyTool']) {
			expect(ours(name).length).toBeGreaterThan(0);
			for (const t of ours(name)) expect(t.outputs).toEqual(['ai_tool']);
		}
		expect(ours('keyPoolTool')[0].displayName).toBe('Key Pool Tool');
		expect(ours('keyPoolTool')[0].description).toMatch(/^Look up what a shop order received.*masked/);
		expect(ours('notifyBuyerTool')[0].description).toMatch(/^Send a delivered order line to its buyer again \(Resend\).*keys stay masked$/);
	});

	it('keeps keys and the secret out of execution data and logs; n8n recorded what it did', async () => {
		const executions = await n8n.waitForExecutions(4);
		expect(executions.map((e) => [e.mode, e.status])).toEqual(Array(4).fill(['webhook', 'success']));

		const first = await n8n.sqlite().execution(executions[0].id);
		expect(first.outputs['Claim Key'][0]).toEqual([expect.objectContaining({ orderId: 'SMOKE-1', keysMasked: true })]);

		const rows = await n8n.sqlite().executionRows();
		expect(rows).toHaveLength(4);
		const haystacks = { executionData: rows.map((r) => r.data + r.workflowData).join('\n'), logs: n8n.logs() };
		expect(haystacks.logs).toContain('Editor is now accessible via');
		for (const [where, text] of Object.entries(haystacks)) {
			for (const secret of [...KEYS, SECRET]) {
				if (text.includes(secret)) throw new Error(`${secret === SECRET ? 'the Encryption Secret' : `key ${secret}`} appears in ${where}`);
			}
		}
	});

	it('delivered the right keys (read back from the store after n8n stopped)', async () => {
		await n8n.stop();
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: SECRET });
		try {
			const [delivery] = await store.getDeliveries({ orderId: 'SMOKE-1', reveal: true });
			expect(delivery).toMatchObject({ sku: SKU, quantity: 2, status: 'claimed', buyer: expect.objectContaining({ name: '小明' }) });
			expect(delivery.keys.map((k) => k.key)).toEqual(KEYS.slice(0, 2)); // sequential: import order
			expect(await store.getDeliveries({ orderId: 'SMOKE-2' })).toEqual([]);
		} finally {
			await store.close();
		}
	});
});
