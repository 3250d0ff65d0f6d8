/**
 * 闲鱼 / 闲管家 and 有赞 in a real n8n 2.41.1: the bundled workflows/goofish-orders.json and
 * youzan-orders.json (Shop Webhook preset → Risk Check → Claim Key → Notify Buyer (webhook to a local
 * "IM" peer) → Mark Shipped preset; refunds → Revoke on Refund), imported with only the IM URL
 * changed, against the local fakes of 闲管家 (test/helpers/fakes/goofish.ts: signatures checked as
 * documented, order details, 发货) and 有赞 (fakes/youzan.ts: logistics.online.confirm and trade.get
 * with the token).
 *
 * For each platform: paid pushes (19-digit 闲管家 order numbers, 有赞 E… tids) → delivered and shipped
 * exactly once, the ship call after the message to the buyer; a repeated push ships nothing again;
 * forged / wrong-secret / expired pushes are answered 401 and start no execution; a refund revokes
 * (有赞: a refund of one line of a two-line trade revokes only that line, read with youzan.trade.get).
 * No plaintext key in n8n's execution data or log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { startFake, type FakeServer } from '../helpers/fakes/http';
import { pushBody, startGoofishFake, type GoofishFake } from '../helpers/fakes/goofish';
import { pushMessage, startYouzanFake, tradePaidMsg, type YouzanFake } from '../helpers/fakes/youzan';
import { fixtureBytes } from '../helpers/platformRequests';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const GF = { appKey: '677859093659717', appSecret: `gf-secret-${rand()}${rand()}` };
const YZ = { clientId: `yzcid${rand()}`.toLowerCase(), clientSecret: `yz-secret-${rand()}${rand()}`, token: `yz-token-${rand()}${rand()}` };
const WF = { goofish: 'adWfGoofishOrds1', youzan: 'adWfYouzanOrds01' };
const SKU = { goofish: 'XY-STEAM-50', youzan: 'YZ-GAME-100', youzan2: 'YZ-GAME-200' };
const KEYS = Object.fromEntries(Object.values(SKU).map((sku) => [sku, Array.from({ length: 20 }, (_, i) => `${sku}-${i}-${rand()}-${rand()}`)])) as Record<string, string[]>;
const ALL_KEYS = Object.values(KEYS).flat();
const keysIn = (text: string) => ALL_KEYS.filter((k) => text.includes(k));
const PAID_MSG = JSON.parse(fixtureBytes('youzan', 'trade-paid-msg.json').toString('utf8')) as Record<string, unknown>;
const OIDS = ['1234567890123456789', '1234567890123456790']; // the order lines of test/fixtures/platforms/youzan/trade-get.json

describe('e2e: 闲管家 and 有赞 pushes → delivery → shipped once, in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let goofish: GoofishFake;
	let youzan: YouzanFake;
	let im: FakeServer;
	let storeFile: string;

	const store = async <T>(fn: (s: KeyStore) => Promise<T>): Promise<T> => {
		const s = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			return await fn(s);
		} finally {
			await s.close();
		}
	};
	const imMessages = (orderId: string) => im.requests.filter((r) => (r.body as { orderId?: string } | null)?.orderId === orderId);
	async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!(await done())) {
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await sleep(300);
		}
	}
	const executions = async (wf: string) => (await n8n.sqlite().executions({ workflowId: wf })).length;
	const post = async (url: string, body: string, headers: Record<string, string>) => {
		const res = await fetch(url, { method: 'POST', headers, body });
		return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
	};

	beforeAll(async () => {
		goofish = await startGoofishFake(GF);
		youzan = await startYouzanFake(YZ.token);
		im = await startFake((req) => ({ status: 200, body: { message_id: `im-${(req.body as { orderId?: string } | null)?.orderId ?? '?'}-${randomUUID().slice(0, 8)}` } }));
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-cn.sqlite');
		await store(async (s) => {
			for (const sku of Object.values(SKU)) expect((await s.importKeys({ sku, keys: KEYS[sku], productName: sku })).imported).toBe(20);
		});
		await n8n.importCredentials([
			{ id: 'adKeyStore0001', name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: 'adShopApiGoof1', name: 'Auto Delivery Shop API (闲管家)', type: 'autoDeliveryShopApi', data: { platform: 'goofish', goofishAppKey: GF.appKey, goofishAppSecret: GF.appSecret, goofishApiUrl: goofish.url } },
			{ id: 'adShopApiYouz1', name: 'Auto Delivery Shop API (有赞)', type: 'autoDeliveryShopApi', data: { platform: 'youzan', youzanClientId: YZ.clientId, youzanClientSecret: YZ.clientSecret, youzanAccessToken: YZ.token, youzanApiUrl: youzan.url } },
		]);
		// The shipped workflows; only Notify Buyer's URL changes.
		for (const file of ['goofish-orders.json', 'youzan-orders.json']) {
			const wf = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', file), 'utf8')) as WorkflowInput;
			for (const node of wf.nodes as Array<{ type: string; parameters: Record<string, unknown> }>) {
				if (node.type === 'n8n-nodes-auto-delivery.notifyBuyer') node.parameters.webhookUrl = `${im.url}/im/${file}`;
			}
			await n8n.importWorkflow(wf);
		}
		await n8n.publish(WF.goofish);
		await n8n.publish(WF.youzan);
		await n8n.start();
	}, 600_000);

	afterAll(async () => {
		await n8n?.dispose();
		await Promise.all([goofish?.close(), youzan?.close(), im?.close()]);
	});

	describe('闲鱼 / 闲管家', () => {
		const url = () => n8n.webhookUrl('auto-delivery/goofish-orders');
		const orders = Array.from({ length: 4 }, (_, i) => `22266881645435${String(66230 + i)}`);

		it('paid pushes → delivered and shipped exactly once through 闲管家, after the message; answered result: success', async () => {
			for (const no of orders) goofish.addOrder({ orderNo: no, sku: SKU.goofish, payAmountFen: 1990 });
			for (const no of orders) {
				const res = await goofish.pushTo(url(), pushBody(no, 12));
				expect(res).toMatchObject({ status: 200, json: { result: 'success', orderId: no } }); // 200, not 202: 闲管家 counts only a success answer
			}
			await waitFor('4 orders shipped', () => orders.every((no) => goofish.ships.some((s) => s.orderNo === no)));
			// a retried push (闲管家 retries up to three times) and the 已发货 push after shipping change nothing
			await goofish.pushTo(url(), pushBody(orders[0], 12));
			await goofish.pushTo(url(), pushBody(orders[1], 21));
			await sleep(3000);
			for (const no of orders) {
				const ships = goofish.ships.filter((s) => s.orderNo === no);
				expect(ships).toHaveLength(1);
				expect(ships[0]).toMatchObject({ path: '/api/open/order/ship', body: { order_no: no, waybill_no: no, express_code: 'qita', express_name: '其他' } });
				const msgs = imMessages(no);
				expect(msgs).toHaveLength(1);
				expect(ships[0].at).toBeGreaterThanOrEqual(msgs[0].at);
			}
			const rows = await store(async (s) => Promise.all(orders.map((no) => s.getDeliveries({ orderId: no, shop: 'goofish:mystore' }))));
			rows.forEach((ds, i) => expect(ds.map((d) => [d.orderId, d.sku, d.status, d.shopReference])).toEqual([[orders[i], SKU.goofish, 'shipped', 'code=0']]));
		});

		it('forged, wrong-secret and expired pushes are refused with 401 and start nothing', async () => {
			await n8n.waitForExecutions(5, { workflowId: WF.goofish }); // 4 paid + the retry (the 已发货 push starts nothing)
			const before = await executions(WF.goofish);
			const body = pushBody(orders[2], 12);
			const cases = [
				await goofish.pushTo(url(), body, { secret: 'not-the-secret' }),
				await goofish.pushTo(url(), body, { nowS: Math.floor(Date.now() / 1000) - 600 }),
				await post(`${url()}?${goofish.signedQuery(body)}`, body.replace('"order_status":12', '"order_status":22,"refund_status":5'), { 'content-type': 'application/json' }),
				await post(url(), body, { 'content-type': 'application/json' }),
			];
			expect(cases.map((c) => c.status)).toEqual([401, 401, 401, 401]);
			expect(cases.map((c) => c.json.reason)).toEqual(['mismatch', 'expired', 'mismatch', 'missing_timestamp']);
			await sleep(1500);
			expect(await executions(WF.goofish)).toBe(before);
		});

		it('a refund push (refund_status 5) revokes the order', async () => {
			const res = await goofish.pushTo(url(), pushBody(orders[3], 23, 5));
			expect(res).toMatchObject({ status: 200, json: { result: 'success' } });
			await waitFor('revoked', async () => (await store(async (s) => s.getDeliveries({ orderId: orders[3], shop: 'goofish:mystore' }))).some((d) => d.sku === SKU.goofish && d.status === 'revoked'));
		});
	});

	describe('有赞', () => {
		const url = () => n8n.webhookUrl('auto-delivery/youzan-orders');
		const tids = Array.from({ length: 4 }, (_, i) => `E2026112310000001234${String(5670 + i)}`);
		const paidPush = (tid: string, secret = YZ.clientSecret) => pushMessage({ clientId: YZ.clientId, clientSecret: secret, type: 'trade_TradePaid', msg: tradePaidMsg(PAID_MSG, tid, SKU.youzan) });

		it('trade_TradePaid → delivered and confirmed shipped (is_no_express=1) exactly once, after the message; answered code: 0', async () => {
			for (const tid of tids) youzan.addTrade(tid);
			const test = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type: 'trade_TradePaid', msg: tradePaidMsg(PAID_MSG, 'E1', SKU.youzan), test: true });
			expect(await post(url(), test.body, test.headers)).toMatchObject({ status: 200, json: { ignored: true, code: 0 } });
			for (const tid of tids) {
				const p = paidPush(tid);
				expect(await post(url(), p.body, p.headers)).toMatchObject({ status: 200, json: { code: 0, orderId: tid } });
			}
			await waitFor('4 trades confirmed', () => tids.every((t) => youzan.confirms.some((c) => c.tid === t)));
			const again = paidPush(tids[0]);
			await post(url(), again.body, again.headers);
			await sleep(3000);
			for (const tid of tids) {
				const confirms = youzan.confirms.filter((c) => c.tid === tid);
				expect(confirms).toHaveLength(1);
				expect(confirms[0].body).toEqual({ tid, is_no_express: 1 });
				const msgs = imMessages(tid);
				expect(msgs).toHaveLength(1);
				expect(confirms[0].at).toBeGreaterThanOrEqual(msgs[0].at);
			}
			expect(youzan.requests.every((r) => r.query.access_token === YZ.token)).toBe(true);
		});

		it('forged and wrong-secret pushes are refused with 401 and start nothing', async () => {
			await n8n.waitForExecutions(5, { workflowId: WF.youzan });
			const before = await executions(WF.youzan);
			const wrong = paidPush(tids[1], 'not-the-secret');
			const good = paidPush(tids[1]);
			const forged = { body: good.body.replace(SKU.youzan, 'YZ-GAME-999'), headers: good.headers };
			const unsigned = { body: JSON.stringify({ ...JSON.parse(good.body), sign: undefined }), headers: { 'content-type': 'application/json' } };
			const answers = [await post(url(), wrong.body, wrong.headers), await post(url(), forged.body, forged.headers), await post(url(), unsigned.body, unsigned.headers)];
			expect(answers.map((a) => [a.status, a.json.reason])).toEqual([
				[401, 'mismatch'],
				[401, 'mismatch'],
				[401, 'missing_signature'],
			]);
			await sleep(1500);
			expect(await executions(WF.youzan)).toBe(before);
		});

		it('trade_refund_RefundSuccess of the only line revokes the order', async () => {
			const p = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type: 'trade_refund_RefundSuccess', msg: { tid: tids[3], oids: OIDS[0], refund_id: '2', refunded_fee: '99.90' } });
			expect(await post(url(), p.body, p.headers)).toMatchObject({ status: 200, json: { code: 0 } });
			await waitFor('revoked', async () => (await store(async (s) => s.getDeliveries({ orderId: tids[3], shop: 'youzan:mystore' }))).some((d) => d.sku === SKU.youzan && d.status === 'revoked'));
		});

		it('a refund of one line of a two-line trade revokes only that line (the trade read with youzan.trade.get)', async () => {
			const tid = 'E20261123100000012345699';
			const lines = [{ oid: OIDS[0], sku: SKU.youzan }, { oid: OIDS[1], sku: SKU.youzan2 }];
			youzan.addTrade(tid, lines);
			const paid = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type: 'trade_TradePaid', msg: tradePaidMsg(PAID_MSG, tid, lines) });
			expect(await post(url(), paid.body, paid.headers)).toMatchObject({ status: 200, json: { code: 0 } });
			await waitFor('both lines delivered', () => imMessages(tid).length === 2);
			const refund = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type: 'trade_refund_RefundSuccess', msg: { tid, oids: OIDS[1], refund_id: '3', refunded_fee: '199.00' } });
			expect(await post(url(), refund.body, refund.headers)).toMatchObject({ status: 200, json: { code: 0 } });
			const statuses = async () => Object.fromEntries((await store(async (s) => s.getDeliveries({ orderId: tid, shop: 'youzan:mystore' }))).map((d) => [d.sku, d.status]));
			await waitFor('line 2 revoked', async () => (await statuses())[SKU.youzan2] === 'revoked');
			expect((await statuses())[SKU.youzan]).not.toBe('revoked');
			expect(youzan.requests.filter((r) => r.path === '/api/youzan.trade.get/4.0.0').map((r) => r.body)).toContainEqual({ tid });
		});
	});

	it('kept every plaintext key and secret out of n8n’s execution data and its log; every execution succeeded', async () => {
		await sleep(500);
		const rows = await n8n.sqlite().executionRows();
		const byStatus = await n8n.sqlite().all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM execution_entity GROUP BY status');
		log(`[cn] executions: ${JSON.stringify(byStatus)}`);
		expect(new Set(byStatus.map((r) => r.status))).toEqual(new Set(['success']));
		const haystack = rows.map((r) => r.data + r.workflowData).join('\n') + n8n.logs();
		expect(keysIn(haystack)).toEqual([]);
		expect([GF.appSecret, YZ.clientSecret, YZ.token].filter((s) => haystack.includes(s))).toEqual([]);
		expect(im.requests.every((r) => keysIn(r.rawBody).length >= 1)).toBe(true);
	});
});
