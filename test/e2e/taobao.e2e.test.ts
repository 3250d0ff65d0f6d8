/**
 * Taobao / Tmall in a real n8n 2.41.1: the bundled workflows/taobao-orders.json (Taobao Trigger →
 * Risk Check → Claim Key → Notify Buyer (webhook to a local "IM" peer standing in for the
 * platform message) → Mark Shipped (taobao preset); refunds → Revoke on Refund), imported with
 * only its IM URL and the trigger's settle time changed, against the TOP router fake in this test
 * process (test/helpers/fakes/topRouter.ts: signatures checked as TOP does, pages, newest first).
 *
 * n8n polls a polling trigger once when the workflow is activated and then on its schedule; the
 * test restarts n8n between polls (the cursor must survive in the workflow's static data):
 *   poll 1  30 paid trades (19-digit tids, some with two lines) over pages of 8, plus unpaid ones;
 *   poll 2  15 new paid trades, 5 unpaid ones became paid, shipped ones changed again, one trade
 *           modified while the pages are being read (it moves to page 1), a refund of an earlier
 *           trade — 50 paid trades in all.
 * Checked: every trade dummy-sent exactly once, after every line's message to the buyer was sent;
 * each line messaged once; exact tids in the store and at the router; the refund revoked the keys;
 * no plaintext key in n8n's execution data or log; nothing but 127.0.0.1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { startFake, type FakeServer } from '../helpers/fakes/http';
import { startTopRouter, tids19, type FakeOrder, type TopRouterFake } from '../helpers/fakes/topRouter';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const APP_KEY = '34567890';
const APP_SECRET = `tb-secret-${rand()}${rand()}`;
const SESSION = `6101${rand()}${rand()}${rand()}`;
const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SHOP = 'taobao:mystore';
const WF_ID = 'adWfTaobaoOrds01';
const SKUS = ['TB-STEAM-50', 'TB-STEAM-100'];
const KEYS = Object.fromEntries(SKUS.map((sku) => [sku, Array.from({ length: 70 }, (_, i) => `${sku}-${i}-${rand()}-${rand()}`)])) as Record<string, string[]>;
const ALL_KEYS = Object.values(KEYS).flat();
const keysIn = (text: string) => ALL_KEYS.filter((k) => text.includes(k));

describe('e2e: Taobao Trigger → delivery → logistics.dummy.send in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let top: TopRouterFake;
	let im: FakeServer;
	let storeFile: string;
	const paid: string[] = [];
	const lines = new Map<string, string[]>();

	const store = async <T>(fn: (s: KeyStore) => Promise<T>): Promise<T> => {
		const s = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			return await fn(s);
		} finally {
			await s.close();
		}
	};
	let oidSeq = 0;
	const order = (tid: string, sku: string, num = 1): FakeOrder => ({ oid: `${tid.slice(0, 12)}${String(++oidSeq).padStart(7, '0')}`, num, num_iid: '600112233445', title: `Steam ${sku}`, price: '50.00', payment: (50 * num).toFixed(2), outer_sku_id: sku });
	function addTrade(tid: string, modifiedAgoMs: number, status = 'WAIT_SELLER_SEND_GOODS') {
		const two = Number(tid.slice(-1)) % 3 === 0;
		const orders = two ? [order(tid, SKUS[0]), order(tid, SKUS[1])] : [order(tid, SKUS[Number(tid.slice(-1)) % 2])];
		top.addTrade({ tid, status, payment: (50 * orders.length).toFixed(2), buyer_nick: `tb_${tid.slice(-4)}`, modified: top.clock() - modifiedAgoMs, orders });
		lines.set(tid, orders.map((o) => o.outer_sku_id as string));
		if (status === 'WAIT_SELLER_SEND_GOODS') paid.push(tid);
	}
	const imMessages = (tid: string) => im.requests.filter((r) => (r.body as { orderId?: string } | null)?.orderId === tid);
	const sendsOf = (tid: string) => top.dummySends.filter((s) => s.tid === tid);

	async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!(await done())) {
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await sleep(300);
		}
	}

	beforeAll(async () => {
		top = await startTopRouter({ appKey: APP_KEY, appSecret: APP_SECRET, session: SESSION });
		im = await startFake((req) => ({ status: 200, body: { message_id: `im-${(req.body as { orderId?: string } | null)?.orderId ?? '?'}-${randomUUID().slice(0, 8)}` } }));
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-taobao.sqlite');
		await store(async (s) => {
			for (const sku of SKUS) expect((await s.importKeys({ sku, keys: KEYS[sku], productName: `Steam ${sku}` })).imported).toBe(70);
		});
		await n8n.importCredentials([
			{ id: 'adKeyStore0001', name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: 'adShopApiTaob1', name: 'Auto Delivery Shop API (Taobao)', type: 'autoDeliveryShopApi', data: { platform: 'taobao', taobaoAppKey: APP_KEY, taobaoAppSecret: APP_SECRET, taobaoSession: SESSION, taobaoSignMethod: 'hmac-sha256', taobaoRouterUrl: top.url } },
		]);
		// The shipped workflow; only the IM URL and the trigger's timing options change.
		const wf = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', 'taobao-orders.json'), 'utf8')) as WorkflowInput;
		for (const node of wf.nodes as Array<{ type: string; parameters: Record<string, unknown> }>) {
			if (node.type === 'n8n-nodes-auto-delivery.taobaoTrigger') node.parameters.options = { settleSeconds: 0, pageSize: 8, lookBackMinutes: 60, retries: 1 };
			if (node.type === 'n8n-nodes-auto-delivery.notifyBuyer') node.parameters.webhookUrl = `${im.url}/im/taobao`;
		}
		await n8n.importWorkflow(wf);

		// poll 1: 30 paid trades over the last 40 minutes, and 5 not paid yet
		tids19(30, '2840188394502391').forEach((tid, i) => addTrade(tid, (40 - i) * 60_000));
		tids19(5, '2840188394502395').forEach((tid, i) => addTrade(tid, (35 - i) * 60_000, 'WAIT_BUYER_PAY'));
		await n8n.publish(WF_ID);
		await n8n.start();
	}, 600_000);

	afterAll(async () => {
		await n8n?.dispose();
		await Promise.all([top?.close(), im?.close()]);
	});

	async function expectAllShippedOnce(tids: string[]) {
		await waitFor(`${tids.length} trades dummy-sent`, () => tids.every((t) => sendsOf(t).length >= 1));
		await sleep(1500); // anything extra would arrive now
		for (const tid of tids) {
			expect(sendsOf(tid)).toHaveLength(1);
			const msgs = imMessages(tid);
			expect(msgs).toHaveLength((lines.get(tid) ?? []).length);
			for (const m of msgs) expect(sendsOf(tid)[0].at).toBeGreaterThanOrEqual(m.at);
		}
	}

	it('poll 1 (activation): 30 paid trades over pages of 8 delivered and dummy-sent exactly once, after the send', async () => {
		await expectAllShippedOnce(paid.slice(0, 30));
		const pages = top.calls.filter((c) => c.method === 'taobao.trades.sold.increment.get').map((c) => c.params.page_no);
		expect(pages.slice(0, 5)).toEqual(['1', '4', '3', '2', '1']);
		expect(top.calls.every((c) => c.answer === 'ok')).toBe(true);
		// the exact 19-digit tids: at the router and in the key store
		const rows = await store(async (s) => Promise.all(paid.slice(0, 30).map((tid) => s.getDeliveries({ orderId: tid, shop: SHOP }))));
		rows.forEach((ds, i) => {
			expect(ds.map((d) => [d.orderId, d.status, d.shopReference])).toEqual((lines.get(paid[i]) ?? []).map(() => [paid[i], 'shipped', 'is_success=true']));
		});
	});

	it('poll 2 after a restart: new trades, trades that became paid, changes while paging and a refund — 50 delivered, each once; the refund revokes', async () => {
		await n8n.stop();
		// new trades: modified now, two of them recorded late (an older modified time, inside the 5-minute overlap)
		tids19(15, '2840188394502397').forEach((tid, i) => addTrade(tid, i < 2 ? 90_000 : 0));
		for (const tid of tids19(5, '2840188394502395')) {
			top.modifyTrade(tid, { status: 'WAIT_SELLER_SEND_GOODS' });
			paid.push(tid);
		}
		for (const tid of paid.slice(0, 5)) top.modifyTrade(tid, { buyer_nick: 'changed-after-shipping' });
		// while the pages are read, a trade not yet read is modified again: it jumps to page 1
		let moved = false;
		top.beforeAnswer((call) => {
			if (!moved && call.method === 'taobao.trades.sold.increment.get' && call.params.page_no === '2') {
				moved = true;
				top.modifyTrade(paid[31], { buyer_nick: 'changed-while-paging' });
			}
		});
		const refunded = paid[2];
		top.refund(refunded);
		await n8n.start();

		expect(paid).toHaveLength(50);
		await expectAllShippedOnce(paid);
		expect(moved).toBe(true);
		expect(top.dummySends).toHaveLength(50);
		await waitFor('the refund revoked', async () => (await store(async (s) => s.getDeliveries({ orderId: refunded, shop: SHOP }))).every((d) => d.status === 'revoked'));
		const counts = await store(async (s) => {
			const all = await Promise.all(paid.map((tid) => s.getDeliveries({ orderId: tid, shop: SHOP })));
			// order lines only: a whole-order refund also writes an order-wide tombstone row (no keys) against late claims
			return all
				.flat()
				.filter((d) => SKUS.includes(d.sku))
				.reduce<Record<string, number>>((acc, d) => ({ ...acc, [d.status]: (acc[d.status] ?? 0) + 1 }), {});
		});
		const totalLines = paid.reduce((n, tid) => n + (lines.get(tid) ?? []).length, 0);
		expect(counts).toEqual({ shipped: totalLines - (lines.get(refunded) ?? []).length, revoked: (lines.get(refunded) ?? []).length });
	});

	it('kept every plaintext key out of n8n’s execution data and its log; every execution succeeded', async () => {
		await sleep(500);
		const rows = await n8n.sqlite().executionRows();
		expect(rows.length).toBeGreaterThan(0);
		const byStatus = await n8n.sqlite().all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM execution_entity GROUP BY status');
		log(`[taobao] executions: ${JSON.stringify(byStatus)}`);
		expect(new Set(byStatus.map((r) => r.status))).toEqual(new Set(['success']));
		const haystack = rows.map((r) => r.data + r.workflowData).join('\n') + n8n.logs();
		expect(keysIn(haystack)).toEqual([]);
		expect([APP_SECRET, SESSION].filter((s) => haystack.includes(s))).toEqual([]);
		// the IM peer got the keys (the delivery channel), exactly the claimed ones
		expect(im.requests.every((r) => keysIn(r.rawBody).length >= 1)).toBe(true);
	});
});
