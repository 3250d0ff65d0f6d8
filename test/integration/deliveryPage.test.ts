/**
 * The delivery page on real databases (SQLite, PostgreSQL, MariaDB): links signed by the store,
 * one view of an order (keys of delivered lines, nothing of refunded ones, what still waits), the
 * view recorded as an audit event with the IP and — by default — as the send of claimed lines
 * (exactly once under concurrent views), the per-link rate limit; and in n8n's engine: Claim Key
 * and Get Delivery output the link, Notify Buyer's templates render {提货链接}, Key Pool → Open
 * Delivery Page answers with the page, and keys never reach execution data otherwise.
 */
import type { ICredentialDataDecryptedObject, INodeType } from 'n8n-workflow';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import { ValidationError } from '../../nodes/core/errors';
import { KeyStore, closeAllStores, getStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig, useStore } from '../helpers/db';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';

const LINKS = { baseUrl: 'https://n8n.example.com/webhook/auto-delivery/delivery', ttlDays: 7 };
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams.entries()) as Record<string, unknown>;

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'the delivery page in the key store', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		useStore(cfg, (s) => (store = s));
		const t = () => internals(store).t;
		const db = () => internals(store).db;
		const row = async (id: number) => db()(t().deliveries).where({ id }).first();
		const events = async (orderId: string, type: string) => (await store.listEvents({ orderId, shop: 'tmall:main', type })).reverse();

		it('signs links only this store can check; another store (another secret) refuses them', async () => {
			const url = store.deliveryLink(LINKS, { shop: 'tmall:main', orderId: '4012345678901234567' });
			expect(store.checkDeliveryLink(queryOf(url))).toMatchObject({ ok: true, shop: 'tmall:main', orderId: '4012345678901234567' });
			const other = await KeyStore.open(storeConfig(kind, { encryptionSecret: 'another-secret' }));
			try {
				expect(other.checkDeliveryLink(queryOf(url))).toEqual({ ok: false, reason: 'forged' });
			} finally {
				await other.close();
			}
			expect(url).not.toMatch(/KEY/);
		});

		it('shows the keys of a delivered line, records the view (IP) once per view, counts views', async () => {
			const keys = makeKeys(2, 'PGA');
			await store.upsertProduct({ sku: 'PG-A', name: 'Steam 50', settings: { usageGuide: 'Redeem on the store', afterSaleNote: 'Within 7 days' } });
			await store.importKeys({ sku: 'PG-A', keys });
			const c = await store.claim({ shop: 'tmall:main', orderId: 'PG-1', sku: 'PG-A', quantity: 2 });
			if (!c.delivered) throw new Error('not delivered');
			const lease = await store.beginSend(c.delivery.id);
			if (lease.kind !== 'go') throw new Error('no lease');
			await store.markSent(c.delivery.id, lease.token, { channel: 'email' });

			const v = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-1', ip: '203.0.113.9' });
			expect(v.limited).toBe(false);
			expect(v.firstView).toBe(true);
			expect(v.lines).toHaveLength(1);
			expect(v.lines[0].delivery.keys.map((k) => k.key)).toEqual(keys);
			expect(v.lines[0]).toMatchObject({ productName: 'Steam 50', settings: { usageGuide: 'Redeem on the store', afterSaleNote: 'Within 7 days' } });
			expect(v.recordedSend).toEqual([]); // already sent by mail
			const again = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-1', ip: '203.0.113.10' });
			expect(again.firstView).toBe(false);
			const viewed = await events('PG-1', 'viewed');
			expect(viewed.map((e) => e.details)).toEqual([{ ip: '203.0.113.9' }, { ip: '203.0.113.10' }]);
			expect(viewed[0].deliveryId).toBe(c.delivery.id);
			expect(JSON.stringify(await store.listEvents({ limit: 1000 }))).not.toContain(keys[0]);
			expect(Number((await row(c.delivery.id)).view_count)).toBe(2);
			// the other shop's order with the same id is another order
			expect((await store.viewOrder({ shop: 'other', orderId: 'PG-1' })).lines).toEqual([]);
		});

		it('counts a view as the delivery of claimed, unsent lines — exactly once under 10 concurrent views', async () => {
			await store.importKeys({ sku: 'PG-B', keys: makeKeys(3, 'PGB') });
			const c = await store.claim({ shop: 'tmall:main', orderId: 'PG-2', sku: 'PG-B' });
			if (!c.delivered) throw new Error('not delivered');
			expect((await store.beginShip(c.delivery.id)).kind).toBe('not_sent');
			const views = await Promise.all(Array.from({ length: 10 }, (_, i) => store.viewOrder({ shop: 'tmall:main', orderId: 'PG-2', ip: `198.51.100.${i}` })));
			expect(views.flatMap((v) => v.recordedSend)).toEqual([c.delivery.id]);
			expect(views.filter((v) => v.firstView)).toHaveLength(1);
			const r = await row(c.delivery.id);
			expect(r).toMatchObject({ status: 'sent', sent_channel: 'page' });
			expect(Number(r.send_count)).toBe(1);
			expect(Number(r.view_count)).toBe(10);
			expect((await events('PG-2', 'sent')).map((e) => e.details)).toEqual([{ channel: 'page' }]);
			expect(await events('PG-2', 'viewed')).toHaveLength(10);
			// Mark Shipped may follow now (DESIGN §1.4: shipped only after a recorded send)
			expect((await store.beginShip(c.delivery.id)).kind).toBe('go');
		});

		it('does not record a send while a sender holds the lease, nor when the seller turned it off', async () => {
			await store.importKeys({ sku: 'PG-C', keys: makeKeys(2, 'PGC') });
			const c1 = await store.claim({ shop: 'tmall:main', orderId: 'PG-3', sku: 'PG-C' });
			const c2 = await store.claim({ shop: 'tmall:main', orderId: 'PG-4', sku: 'PG-C' });
			if (!c1.delivered || !c2.delivered) throw new Error('not delivered');
			const lease = await store.beginSend(c1.delivery.id);
			expect(lease.kind).toBe('go');
			const v1 = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-3' });
			expect(v1.recordedSend).toEqual([]);
			expect(v1.lines[0].delivery.keys[0].key).toBeDefined(); // the buyer still sees the content
			expect((await row(c1.delivery.id)).status).toBe('claimed');
			const v2 = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-4', countAsDelivery: false });
			expect(v2.recordedSend).toEqual([]);
			expect((await row(c2.delivery.id)).status).toBe('claimed');
		});

		it('lets the seller ship on open: with requireViewed, a sent line waits for the first view (nothing recorded until then)', async () => {
			await store.importKeys({ sku: 'PG-V', keys: makeKeys(1, 'PGV') });
			const c = await store.claim({ shop: 'tmall:main', orderId: 'PG-10', sku: 'PG-V' });
			if (!c.delivered) throw new Error('not delivered');
			const lease = await store.beginSend(c.delivery.id);
			if (lease.kind !== 'go') throw new Error('no lease');
			await store.markSent(c.delivery.id, lease.token, { channel: 'webhook' }); // e.g. the link sent through the platform's chat
			const refusedBefore = (await events('PG-10', 'ship_refused')).length;
			expect((await store.beginShip(c.delivery.id, { requireViewed: true })).kind).toBe('not_viewed');
			expect((await events('PG-10', 'ship_refused')).length).toBe(refusedBefore);
			expect((await row(c.delivery.id)).ship_token).toBeNull();
			await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-10' });
			const go = await store.beginShip(c.delivery.id, { requireViewed: true });
			expect(go.kind).toBe('go');
		});

		it('limits views per link and minute: over the limit nothing is read or recorded', async () => {
			await store.importKeys({ sku: 'PG-D', keys: makeKeys(1, 'PGD') });
			await store.claim({ shop: 'tmall:main', orderId: 'PG-5', sku: 'PG-D' });
			const now = Date.now();
			for (let i = 0; i < 3; i++) expect((await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-5', limitPerMinute: 3, now: now + i })).limited).toBe(false);
			const over = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-5', limitPerMinute: 3, now: now + 10 });
			expect(over).toMatchObject({ limited: true, lines: [], recordedSend: [] });
			expect(over.retryAfterSeconds).toBeGreaterThanOrEqual(59);
			expect(await events('PG-5', 'viewed')).toHaveLength(3);
			expect((await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-5', limitPerMinute: 3, now: now + 61_000 })).limited).toBe(false);
			await expect(store.viewOrder({ shop: 'tmall:main', orderId: 'PG-5', limitPerMinute: 0 })).rejects.toThrow(ValidationError);
		});

		it('never shows a refunded line\'s keys; a whole-order refund before delivery shows "refunded"', async () => {
			const keys = makeKeys(1, 'PGE');
			await store.importKeys({ sku: 'PG-E', keys });
			await store.claim({ shop: 'tmall:main', orderId: 'PG-6', sku: 'PG-E' });
			await store.revoke({ shop: 'tmall:main', orderId: 'PG-6', reason: 'refund' });
			const v = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-6' });
			expect(v.lines.map((l) => [l.delivery.status, l.delivery.keys])).toEqual([['revoked', []]]);
			expect(JSON.stringify(v)).not.toContain(keys[0]);
			expect(v.recordedSend).toEqual([]);
			await store.revoke({ shop: 'tmall:main', orderId: 'PG-7', reason: 'refund before payment' });
			expect(await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-7' })).toMatchObject({ lines: [], refundedOrder: true });
		});

		it('tells what still waits: out of stock with the expected time, held for review', async () => {
			await store.upsertProduct({ sku: 'PG-F', name: 'Rare', settings: { expectedWithin: '24 小时' } });
			await store.holdLine({ shop: 'tmall:main', orderId: 'PG-8', sku: 'PG-F', quantity: 2, reason: 'out_of_stock' });
			const v = await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-8' });
			expect(v.waiting.map((w) => [w.sku, w.quantity, w.reason, w.productName, w.settings.expectedWithin])).toEqual([['PG-F', 2, 'out_of_stock', 'Rare', '24 小时']]);
			await db()(t().riskLog).insert({ at: Date.now(), order_id: 'PG-9', line: '', shop: 'tmall:main', decision: 'review' });
			expect((await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-9' })).held).toEqual([{ sku: '', decision: 'review' }]);
			await db()(t().riskLog).where({ order_id: 'PG-9' }).update({ approved_at: Date.now() });
			expect((await store.viewOrder({ shop: 'tmall:main', orderId: 'PG-9' })).held).toEqual([]);
		});

		it('bad input changes nothing', async () => {
			const before = Number((await db()(t().events).count({ c: '*' }).first())?.c);
			await expect(store.viewOrder({ shop: 'tmall:main', orderId: '' })).rejects.toThrow(ValidationError);
			await expect(store.viewOrder({ shop: 'tmall:main', orderId: 'x'.repeat(300) })).rejects.toThrow(ValidationError);
			expect(Number((await db()(t().events).count({ c: '*' }).first())?.c)).toBe(before);
		});
	});
}

// ------------------------------------------------------------------------------------------------
// In n8n's engine

const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
const POOL = 'n8n-nodes-auto-delivery.keyPool';
const NOTIFY = 'n8n-nodes-auto-delivery.notifyBuyer';
const SHIP = 'n8n-nodes-auto-delivery.markShipped';
// The tool variant runs the same node under n8n's generated type name (`…Tool`), which is what the node checks.
const nodeTypes: Record<string, INodeType> = { [CLAIM]: new ClaimKey(), [POOL]: new KeyPool(), [`${POOL}Tool`]: new KeyPool(), [NOTIFY]: new NotifyBuyer(), [SHIP]: new MarkShipped() };
const { node, start, data, json } = workflowBuilders();

describeDb('sqlite', 'the delivery link and page in the n8n engine', () => {
	const cfg = storeConfig('sqlite');
	const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_', deliveryPageUrl: LINKS.baseUrl, deliveryLinkTtlDays: 7 } as unknown as ICredentialDataDecryptedObject;
	const noLinks = { ...credData, deliveryPageUrl: '' } as ICredentialDataDecryptedObject;
	let smtp: SmtpPeer;
	let store: KeyStore;
	const KEYS = makeKeys(4, 'ENG');
	const run = (nodes: ReturnType<typeof node>[], cred = credData) =>
		runWorkflow(
			{ nodes, connections: chain(...nodes.map((x) => x.name)) },
			{
				nodeTypes,
				credentials: [
					{ type: 'autoDeliveryKeyStore', data: cred },
					{ type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', password: '', from: 'Shop <shop@example.com>', ignoreSslIssues: false } as unknown as ICredentialDataDecryptedObject },
				],
			},
		);
	const claimNode = () => node('Claim', CLAIM, { orderId: '={{ $json.orderId }}', shop: '={{ $json.shop }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}', strategy: 'sequential', details: { buyerEmail: '={{ $json.email }}' } });

	beforeAll(async () => {
		smtp = await startSmtpServer();
		store = await getStore(storeConfigFromCredentials(credData));
		await store.upsertProduct({ sku: 'ENG-1', name: 'Engine product', settings: { usageGuide: 'Use it well' } });
		await store.importKeys({ sku: 'ENG-1', keys: KEYS });
	});
	afterAll(async () => {
		await closeAllStores();
		await smtp?.close();
		await dropStore(cfg);
	});

	it('Claim Key outputs the signed link on both outputs; without a Delivery Page URL there is none', async () => {
		const items = [{ orderId: '4012345678901234567', shop: 'tb:main', sku: 'ENG-1', quantity: 1, email: 'b1@example.com' }, { orderId: 'E-2', shop: 'tb:main', sku: 'ENG-NONE', quantity: 1 }];
		const r = await run([start(), data(items), claimNode()]);
		expect(r.status).toBe('success');
		const [ok, notOk] = r.outputs.Claim;
		const link = String(json(ok)[0].deliveryLink);
		expect(link.startsWith(`${LINKS.baseUrl}?o=4012345678901234567&s=tb%3Amain&e=`)).toBe(true);
		expect(store.checkDeliveryLink(queryOf(link))).toMatchObject({ ok: true, orderId: '4012345678901234567', shop: 'tb:main' });
		expect(String(json(notOk)[0].deliveryLink)).toContain('o=E-2');
		const plain = await run([start(), data([{ ...items[0], orderId: 'E-3' }]), claimNode()], noLinks);
		expect(json(plain.outputs.Claim[0])[0].deliveryLink).toBeUndefined();
		const got = await run([start(), data([{}]), node('Get', POOL, { resource: 'delivery', operation: 'getDelivery', orderId: '4012345678901234567', deliveryShop: 'tb:main', deliverySku: '' }, { typeVersion: 2 })]);
		expect(json(got.outputs.Get[0])[0].deliveryLink).toMatch(/^https:\/\/n8n\.example\.com\/webhook\/auto-delivery\/delivery\?o=4012345678901234567/);
	});

	it('Notify Buyer renders {提货链接} and {deliveryLink}; the mail holds the link, the link holds no key', async () => {
		const r = await run([
			start(),
			data([{ orderId: 'E-10', shop: 'tb:main', sku: 'ENG-1', quantity: 1, email: 'b10@example.com' }]),
			claimNode(),
			node('Notify', NOTIFY, { operation: 'send', channel: 'email', deliveryId: '={{ $json.deliveryId }}', to: '', subject: 'Order {订单号}', emailFormat: 'text', text: '提货链接: {提货链接}\nLink: {deliveryLink}\nGuide: {使用说明}' }),
		]);
		expect(r.status).toBe('success');
		const mail = smtp.messages.find((m) => m.to.includes('b10@example.com'));
		const links = [...(mail?.text ?? '').matchAll(/https:\/\/\S+/g)].map((m) => m[0]);
		expect(links).toHaveLength(2);
		expect(links[0]).toBe(links[1]);
		expect(store.checkDeliveryLink(queryOf(links[0]))).toMatchObject({ ok: true, orderId: 'E-10', shop: 'tb:main' });
		expect(mail?.text).toContain('Guide: Use it well');
		for (const k of KEYS) expect(links[0]).not.toContain(k);
	});

	it('Send Delay Notice renders {提货链接}: the buyer of a waiting order gets the link of its (pending) page', async () => {
		await store.upsertProduct({ sku: 'ENG-LATE', name: 'Late', settings: { delayNotice: true, expectedWithin: '2 小时' } });
		await store.holdLine({ shop: 'tb:main', orderId: 'E-30', sku: 'ENG-LATE', reason: 'out_of_stock', buyer: { email: 'b30@example.com' } });
		const r = await run([
			start(),
			data([{ orderId: 'E-30', shop: 'tb:main', sku: 'ENG-LATE' }]),
			node('Notify', NOTIFY, { operation: 'sendDelayNotice', channel: 'email', delayOrderId: '={{ $json.orderId }}', delayShop: '={{ $json.shop }}', delaySku: '={{ $json.sku }}', toEmail: '', emailFormat: 'text', delaySubject: 'Order {订单号}', delayText: '预计 {预计时间}: {提货链接}' }),
		]);
		expect(r.status).toBe('success');
		const mail = smtp.messages.find((m) => m.to.includes('b30@example.com'));
		const [link] = [...(mail?.text ?? '').matchAll(/https:\/\/\S+/g)].map((m) => m[0]);
		expect(mail?.text).toContain('预计 2 小时');
		expect(store.checkDeliveryLink(queryOf(link))).toMatchObject({ ok: true, orderId: 'E-30', shop: 'tb:main' });
	});

	it('Open Delivery Page answers with the page of a valid link, 403 for a changed one, 410 for an expired one; refuses as an AI tool', async () => {
		const link = store.deliveryLink(LINKS, { shop: 'tb:main', orderId: 'E-10' });
		const page = (query: Record<string, unknown>, headers: Record<string, string> = {}, extra = {}) =>
			run([start(), data([{ query, headers }]), node('Page', POOL, { resource: 'delivery', operation: 'deliveryPage', linkQuery: '={{ $json.query }}', acceptLanguage: '={{ $json.headers["accept-language"] }}', viewerIp: '={{ $json.headers["x-forwarded-for"] }}', options: {} }, { typeVersion: 2, ...extra })]);
		const ok = await page(queryOf(link), { 'accept-language': 'en-US,en;q=0.9', 'x-forwarded-for': '203.0.113.50, 10.0.0.1' });
		expect(ok.status).toBe('success');
		const [item] = json(ok.outputs.Page[0]);
		// sent by mail, never marked shipped (no Mark Shipped in that test): listed for Mark Shipped
		expect(item).toMatchObject({ statusCode: 200, state: 'delivered', orderId: 'E-10', shop: 'tb:main', firstView: true, shipNow: [{ orderId: 'E-10', shop: 'tb:main', sku: 'ENG-1', quantity: 1 }] });
		expect(String(item.html)).toContain('Your order');
		const [delivery] = await store.getDeliveries({ orderId: 'E-10', shop: 'tb:main', reveal: true });
		expect(String(item.html)).toContain(String(delivery.keys[0].key));
		expect((await store.listEvents({ orderId: 'E-10', shop: 'tb:main', type: 'viewed' }))[0].details).toEqual({ ip: '203.0.113.50' });

		const changed = await page({ ...queryOf(link), o: 'E-11' });
		const [bad] = json(changed.outputs.Page[0]);
		expect(bad).toMatchObject({ statusCode: 403, state: 'invalid', reason: 'forged' });
		expect(bad.orderId).toBeUndefined();
		expect(String(bad.html)).toContain('链接无效');
		const expired = store.deliveryLink(LINKS, { shop: 'tb:main', orderId: 'E-10' }, Date.now() - 8 * 86400_000);
		expect(json((await page(queryOf(expired))).outputs.Page[0])[0]).toMatchObject({ statusCode: 410, state: 'expired' });

		// the page of an order whose Mark Shipped waits for the view lists it for Mark Shipped
		const shipNode = (waitForView: boolean) => node('Ship', SHIP, { lookup: 'deliveryId', deliveryId: '={{ $json.deliveryId }}', mode: 'recordOnly', shopReference: 'on-open', requireSent: true, waitForView });
		const claimed = await run([start(), data([{ orderId: 'E-20', shop: 'tb:main', sku: 'ENG-1', quantity: 1, email: 'b20@example.com' }]), claimNode(), node('Notify', NOTIFY, { operation: 'send', channel: 'email', deliveryId: '={{ $json.deliveryId }}', to: '', subject: 'Link', emailFormat: 'text', text: '{提货链接}' }), shipNode(true)]);
		expect(claimed.status).toBe('success');
		const [waiting] = json(claimed.outputs.Ship[0]);
		expect(waiting).toMatchObject({ status: 'sent', ship: { shipped: false, reason: 'not_viewed' } });
		expect(json(claimed.outputs.Ship[1])).toEqual([]);
		const opened = await page(queryOf(store.deliveryLink(LINKS, { shop: 'tb:main', orderId: 'E-20' })));
		const [view] = json(opened.outputs.Page[0]);
		expect(view.shipNow).toEqual([{ deliveryId: waiting.deliveryId, orderId: 'E-20', shop: 'tb:main', sku: 'ENG-1', quantity: 1 }]);
		const shipped = await run([start(), data(view.shipNow as Array<Record<string, unknown>>), shipNode(true)]);
		expect(json(shipped.outputs.Ship[0])[0]).toMatchObject({ status: 'shipped', ship: { shipped: true, shopReference: 'on-open' } });

		const asTool = await page(queryOf(link), {}, { type: `${POOL}Tool` });
		expect(asTool.status).toBe('error');
		expect(asTool.error?.message).toMatch(/cannot be used as an AI agent tool/);
	});
});
