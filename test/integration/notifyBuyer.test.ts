/**
 * Notify Buyer inside n8n's own engine (n8n-core WorkflowExecute), chained after Key Pool import and
 * Claim Key, against real peers: a real SMTP server (smtp-server, with fault injection), a real HTTP
 * server standing in for IM bots / the shop (with 5xx, 4xx, timeouts), and real SQLite stores
 * (plus PostgreSQL for the multi-process race).
 */
import * as net from 'node:net';

import type { ICredentialDataDecryptedObject, INode, INodeExecutionData, INodeType } from 'n8n-workflow';
import { SMTPServer } from 'smtp-server';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import type { StoreConfig } from '../../nodes/core/store';
import { KeyStore } from '../../nodes/core/store';
import { closeAllTransports } from '../../nodes/core/outbound';
import { notifyDelivery } from '../../nodes/core/delivery';
import { closeAllStores, getStore } from '../../nodes/core/store';
import { formatDate } from '../../nodes/core/delivery';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { testSmtpCredential } from '../../nodes/shared/notify';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { describeDb, dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { raceNotify } from './workers/notifyWorker';
import { captureOutput } from '../helpers/capture';
import { claimParams } from '../helpers/nodeParams';

const POOL = 'n8n-nodes-auto-delivery.keyPool';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
const NOTIFY = 'n8n-nodes-auto-delivery.notifyBuyer';

const nodeTypes: Record<string, INodeType> = {
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
	[POOL]: new KeyPool(),
	[CLAIM]: new ClaimKey(),
	[NOTIFY]: new NotifyBuyer(),
};

const cfg = storeConfig('sqlite');
const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
const SMTP_USER = 'shop-mailer';
const SMTP_PASS = 'smtp-Pa55-w0rd-xyz';
const SHOP_TOKEN = 'shop-api-token-7f3a9c';

const SKU = 'STEAM-50';
const PRODUCT = 'Steam 50 点卡';
/** Keys look like NBK-0001-AB12CD34; every one must stay out of outputs, events, errors and logs. */
const KEYS = Array.from({ length: 80 }, (_, i) => `NBK-${String(i + 1).padStart(4, '0')}-${Math.random().toString(36).slice(2, 10).toUpperCase()}`);
const FIXED = 'https://dl.example.com/course?token=FIXED-SECRET-LINK-42';

let smtp: SmtpPeer;
let shop: ShopPeer;
let store: KeyStore;

const { node, start, data } = workflowBuilders();
const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json as Record<string, any>);
const importNode = () =>
	node('Import', POOL, { operation: 'import', sku: SKU, source: 'text', format: 'txt', keysText: KEYS.join('\n'), batchId: 'nb1', productName: PRODUCT });
const claimNode = () =>
	node('Claim', CLAIM, claimParams({ buyerId: '={{ $json.buyer.id }}', buyerName: '={{ $json.buyer.name }}', buyerEmail: '={{ $json.buyer.email }}' }));
/** Notify Buyer with only what the test sets: everything else keeps the node's defaults. */
const notifyNode = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) => node('Notify', NOTIFY, { ...params }, extra);

const smtpCred = (over: Record<string, unknown> = {}) => ({
	host: smtp.host,
	port: smtp.port,
	security: 'none',
	user: SMTP_USER,
	password: SMTP_PASS,
	from: 'Key Shop <shop@example.com>',
	...over,
});
const credentials = (smtpOver: Record<string, unknown> = {}) => [
	{ type: 'autoDeliveryKeyStore', data: credData },
	{ type: 'autoDeliverySmtp', data: smtpCred(smtpOver) },
	{ type: 'autoDeliveryShopApi', data: { baseUrl: `${shop.url}/api`, authType: 'bearer', token: SHOP_TOKEN } },
];

async function run(nodes: INode[], smtpOver: Record<string, unknown> = {}) {
	return runWorkflow({ nodes, connections: chain(...nodes.map((x) => x.name)) }, { nodeTypes, credentials: credentials(smtpOver) });
}

/** Start → Key Pool import → orders → Claim Key → Notify Buyer. */
async function pipeline(orders: unknown[], notifyParams: Record<string, unknown> = {}, notifyExtra: Partial<INode> = {}) {
	return run([start(), importNode(), data(orders), claimNode(), notifyNode(notifyParams, notifyExtra)]);
}

let orderSeq = 0;
const order = (over: Record<string, unknown> = {}) => ({
	orderId: `NB-${++orderSeq}`,
	sku: SKU,
	quantity: 1,
	buyer: { id: `u${orderSeq}`, name: `Buyer ${orderSeq}`, email: `buyer${orderSeq}@example.com` },
	...over,
});

/** Claims orders with the core (for tests that start at Notify Buyer). */
async function claimed(o: ReturnType<typeof order>) {
	const r = await store.claim({ orderId: o.orderId, sku: o.sku, quantity: o.quantity, buyer: o.buyer });
	if (!r.delivered) throw new Error(`claim failed: ${r.reason}`);
	return r.delivery;
}
const keysOf = async (deliveryId: number) => ((await store.getDeliveryById(deliveryId, true))?.keys ?? []).map((k) => k.key as string);

/** Waits for a condition of the peers (no timed assertion: the test's own timeout is the limit). */
async function until(cond: () => boolean): Promise<void> {
	while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

const leaked = (text: string) => [...KEYS, FIXED, 'FIXED-SECRET-LINK-42', SMTP_PASS, SHOP_TOKEN].filter((k) => text.includes(k));

// Everything written to stdout/stderr/console while the nodes run, to prove no key reaches a log.
const captured = captureOutput();

beforeAll(async () => {
	smtp = await startSmtpServer({ auth: { user: SMTP_USER, pass: SMTP_PASS } });
	shop = await startShopServer();
	store = await getStore(storeConfigFromCredentials(credData as ICredentialDataDecryptedObject));
	// The first half here, so every test can run on its own; the pipelines import all of them again (deduplicated).
	await store.importKeys({ sku: SKU, keys: KEYS.slice(0, 40), productName: PRODUCT });
});

afterAll(async () => {
	closeAllTransports();
	await smtp?.close();
	await shop?.close();
	await closeAllStores();
	await dropStore(cfg);
});

beforeEach(() => {
	smtp.clear();
	shop.clear();
});

// ------------------------------------------------------------------------------------------------

/** A bare SMTP server on a free port that hands each whole message to `onMessage` to answer. */
async function rawSmtp(onMessage: (raw: string, callback: (err?: Error | null, message?: string) => void) => void): Promise<{ server: SMTPServer; port: number }> {
	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['STARTTLS'],
		logger: false,
		closeTimeout: 500,
		onData(stream, _session, callback) {
			let raw = '';
			stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
			stream.on('end', () => onMessage(raw, callback));
		},
	});
	await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
	return { server, port: (server.server.address() as net.AddressInfo).port };
}

describe('Notify Buyer by email, chained after Key Pool import and Claim Key', () => {
	it('sends the default bilingual mail with the decrypted keys in text and HTML, and records the send', async () => {
		const o1 = order({ quantity: 2 });
		const o2 = order({ buyer: { id: 'u-cn', name: '小明', email: 'xiaoming@example.com' } });
		const r = await pipeline([o1, o2]);
		expect(r.status).toBe('success');
		expect(r.executionOrder).toEqual(['Start', 'Import', 'Data', 'Claim', 'Notify']);
		expect(json(r.outputs.Import[0])[0]).toMatchObject({ sku: SKU, received: 80, imported: 40, duplicate: 40 });
		const out = json(r.outputs.Notify[0]);
		expect(out).toHaveLength(2);
		expect(r.outputs.Notify[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);

		const mails = smtp.messages;
		expect(mails).toHaveLength(2);
		const byTo = (addr: string) => mails.find((m) => m.to.includes(addr))!;
		const m1 = byTo('buyer' + o1.orderId.split('-')[1] + '@example.com');
		const keys1 = await keysOf(out[0].deliveryId);
		expect(keys1).toHaveLength(2);
		expect(m1.subject).toBe(`【${PRODUCT}】发货通知 / Your order ${o1.orderId}`);
		expect(m1.from).toBe('shop@example.com');
		expect(m1.authUser).toBe(SMTP_USER);
		for (const k of keys1) {
			expect(m1.text).toContain(k);
			expect(m1.html).toContain(k);
		}
		expect(m1.text).toContain(`${keys1[0]}\n${keys1[1]}`);
		expect(m1.html).toContain(`${keys1[0]}<br>${keys1[1]}`);
		expect(m1.text).toMatch(/妥善保管/);
		expect(m1.text).toContain(`数量 / Quantity: 2`);
		expect(m1.text).toContain(`订单号 / Order ID: ${o1.orderId}`);
		const m2 = byTo('xiaoming@example.com');
		expect(m2.text).toContain((await keysOf(out[1].deliveryId))[0]);

		for (const [item, o, mail] of [[out[0], o1, m1], [out[1], o2, m2]] as const) {
			expect(item).toMatchObject({
				orderId: o.orderId,
				sku: SKU,
				status: 'sent',
				keysMasked: true,
				buyer: expect.objectContaining({ email: o.buyer.email }),
				notify: { sent: true, alreadySent: false, resent: false, channel: 'email', recipient: o.buyer.email, messageId: mail.messageId, sentAt: expect.any(String), sendCount: 1 },
			});
			expect(item.keys.every((k: string) => k.includes('…'))).toBe(true);
			const d = await store.getDeliveryById(item.deliveryId);
			expect(d).toMatchObject({ status: 'sent', sentChannel: 'email', sentMessageId: mail.messageId, sendCount: 1, lastError: null });
		}
		const events = await store.listEvents({ orderId: o1.orderId });
		expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['claimed', 'sent']));
		expect(events.find((e) => e.type === 'sent')?.details).toMatchObject({ channel: 'email', messageId: m1.messageId });
		expect(leaked(JSON.stringify(r.raw))).toEqual([]);
	});

	it('a delivery already sent is not sent again; Resend sends a second mail and counts it', async () => {
		const o = order();
		const first = await pipeline([o]);
		const item = json(first.outputs.Notify[0])[0];
		expect(smtp.messages).toHaveLength(1);

		// the same order again (webhook retry): Claim replays the delivery, Notify sends nothing
		const again = await pipeline([o]);
		expect(again.status).toBe('success');
		expect(json(again.outputs.Claim[0])[0]).toMatchObject({ alreadyDelivered: true, deliveryId: item.deliveryId });
		expect(json(again.outputs.Notify[0])[0]).toMatchObject({
			status: 'sent',
			notify: { sent: true, alreadySent: true, resent: false, channel: 'email', messageId: item.notify.messageId, sendCount: 1 },
		});
		expect(smtp.messages).toHaveLength(1);

		const resend = await run([start(), data([{ deliveryId: item.deliveryId, buyer: o.buyer }]), notifyNode({ operation: 'resend' })]);
		expect(resend.status).toBe('success');
		expect(smtp.messages).toHaveLength(2);
		const second = smtp.messages[1];
		expect(second.messageId).not.toBe(item.notify.messageId);
		expect(second.text).toContain((await keysOf(item.deliveryId))[0]);
		expect(json(resend.outputs.Notify[0])[0]).toMatchObject({ status: 'sent', notify: { sent: true, alreadySent: false, resent: true, sendCount: 2, messageId: second.messageId } });
		const d = await store.getDeliveryById(item.deliveryId);
		expect(d).toMatchObject({ sendCount: 2, sentMessageId: second.messageId, status: 'sent' });
		const sentEvents = (await store.listEvents({ orderId: o.orderId, type: 'sent' })).map((e) => e.details);
		expect(sentEvents).toEqual([expect.objectContaining({ resend: true }), expect.objectContaining({ resend: false })]);
	});

	it('Resend by Order ID sends every line of the order (To empty → the buyer email on record), or one SKU', async () => {
		await store.upsertProduct({ sku: 'LINK', name: 'Course 课程', fixedContent: FIXED });
		const o = order({ orderId: 'NB-MULTI' });
		await claimed(o);
		await claimed({ ...o, sku: 'LINK' });
		const r = await run([start(), notifyNode({ operation: 'resend', findBy: 'order', orderId: 'NB-MULTI', toEmail: '' })]);
		expect(r.status).toBe('success');
		const out = json(r.outputs.Notify[0]);
		expect(out.map((x) => [x.sku, x.notify.sent, x.notify.recipient])).toEqual([
			[SKU, true, o.buyer.email],
			['LINK', true, o.buyer.email],
		]);
		expect(r.outputs.Notify[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		expect(smtp.messages).toHaveLength(2);
		const link = smtp.messages.find((m) => m.subject.includes('Course 课程'))!;
		expect(link.text).toContain(FIXED);
		expect(link.html).toContain(FIXED.replace(/&/g, '&amp;'));
		expect(out[1].keys).toEqual([expect.stringContaining('…')]);
		expect(leaked(JSON.stringify(r.raw))).toEqual([]);

		const one = await run([start(), notifyNode({ operation: 'resend', findBy: 'order', orderId: 'NB-MULTI', sku: 'LINK', toEmail: '' })]);
		expect(json(one.outputs.Notify[0]).map((x) => [x.sku, x.notify.sendCount])).toEqual([['LINK', 2]]);
		expect(smtp.messages).toHaveLength(3);
	});

	it('Resend from a manual trigger (no buyer in the input): the default To falls back to the buyer email on record', async () => {
		const o = order();
		await claimed(o);
		const r = await run([start(), notifyNode({ operation: 'resend', findBy: 'order', orderId: o.orderId })]);
		expect(r.status).toBe('success');
		expect(json(r.outputs.Notify[0])[0]).toMatchObject({ orderId: o.orderId, buyer: expect.objectContaining({ email: o.buyer.email }), notify: { sent: true, recipient: o.buyer.email, sendCount: 1 } });
		expect(smtp.messages.map((m) => m.to)).toEqual([[o.buyer.email]]);
	});

	it('custom Chinese templates: 中文 variables, the product name from the product record, HTML-escaped buyer name, time zone', async () => {
		const evil = '<script>alert("x")</script>&小明';
		const o = order({ quantity: 2, buyer: { id: 'u-evil', name: evil, email: 'evil@example.com' } });
		const r = await pipeline([o], {
			subject: '{商品名称} 订单 {订单号} × {数量}',
			text: '{买家昵称} 您好，卡密：\n{发货内容}\n日期 {购买日期}',
			html: '<p>{买家昵称} 您好</p><p>{productName}</p><div>{deliveryContent}</div><p>{date}</p>',
			options: { timeZone: 'UTC' },
		});
		expect(r.status).toBe('success');
		const [mail] = smtp.messages;
		const item = json(r.outputs.Notify[0])[0];
		const keys = await keysOf(item.deliveryId);
		const d = (await store.getDeliveryById(item.deliveryId))!;
		expect(mail.subject).toBe(`${PRODUCT} 订单 ${o.orderId} × 2`);
		expect(mail.text).toBe(`${evil} 您好，卡密：\n${keys.join('\n')}\n日期 ${formatDate(d.createdAt, 'UTC')}`);
		expect(mail.html).not.toContain('<script>');
		expect(mail.html).toContain('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;小明 您好</p>');
		expect(mail.html).toContain(`<p>${PRODUCT}</p><div>${keys.join('<br>')}</div><p>${formatDate(d.createdAt, 'UTC')}</p>`);
	});

	it('text-only and HTML-only formats, BCC and Reply-To', async () => {
		const o = order();
		const r = await pipeline([o], { emailFormat: 'text', options: { bcc: 'archive@example.com', replyTo: 'support@example.com' } });
		expect(r.status).toBe('success');
		const [mail] = smtp.messages;
		expect(mail.to.sort()).toEqual(['archive@example.com', o.buyer.email].sort());
		expect(mail.html).toBeNull();
		expect(mail.raw).toMatch(/^Reply-To: support@example.com/m);
		expect(mail.raw).not.toMatch(/^Bcc:/im);
		const o2 = order();
		const h = await pipeline([o2], { emailFormat: 'html' });
		const htmlOnly = smtp.messages[1];
		expect(htmlOnly.html).toContain((await keysOf(json(h.outputs.Notify[0])[0].deliveryId))[0]);
		expect(htmlOnly.raw).not.toMatch(/Content-Type: text\/plain/i);
	});

	it('Include Keys in Output shows the plain keys; without it they stay masked', async () => {
		const o = order({ quantity: 2 });
		const r = await pipeline([o], { includeKeys: true });
		const item = json(r.outputs.Notify[0])[0];
		expect(item.keys).toEqual(await keysOf(item.deliveryId));
		expect(item.keysMasked).toBe(false);
		const again = await run([start(), data([{ deliveryId: item.deliveryId }]), notifyNode({ toEmail: '', includeKeys: true })]);
		expect(json(again.outputs.Notify[0])[0]).toMatchObject({ keys: item.keys, notify: { alreadySent: true } });
	});

	it('a revoked (refunded) delivery is never sent, neither by Send nor by Resend', async () => {
		const o = order();
		const d = await claimed(o);
		await store.revoke({ orderId: o.orderId, reason: 'refund' });
		for (const operation of ['send', 'resend']) {
			const r = await run([start(), data([{ deliveryId: d.id, buyer: o.buyer }]), notifyNode({ operation })]);
			expect(r.status).toBe('success');
			expect(json(r.outputs.Notify[0])[0]).toMatchObject({
				status: 'revoked',
				notify: { sent: false, alreadySent: false, skipped: 'revoked', message: expect.stringMatching(/refunded\/revoked/) },
			});
		}
		expect(smtp.messages).toHaveLength(0);
		expect(await store.listEvents({ orderId: o.orderId, type: 'sent' })).toEqual([]);
	});

	it('an invalid or missing recipient is a clear error: nothing sent, nothing recorded', async () => {
		const o = order();
		const d = await claimed(o);
		const bad = await run([start(), data([{ deliveryId: d.id, buyer: { email: 'not-an-email' } }]), notifyNode()]);
		expect(bad.status).toBe('error');
		expect(bad.error?.message).toBe('To "not-an-email" is not a valid email address.');
		expect((bad.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);

		const noBuyerEmail = await claimed(order({ buyer: { id: 'x', name: 'x', email: null } as never }));
		const missing = await run([start(), data([{ ok: 1 }, { deliveryId: noBuyerEmail.id, buyer: { email: '' } }]), notifyNode({ deliveryId: '={{ $json.deliveryId }}' }, { onError: 'continueRegularOutput' })]);
		expect(missing.status).toBe('success');
		const [first, second] = json(missing.outputs.Notify[0]);
		expect(first.notify).toMatchObject({ sent: false, error: 'Delivery ID is required (e.g. {{ $json.deliveryId }} from Claim Key), or find the delivery by Order ID.' });
		expect(second.notify).toMatchObject({ sent: false, error: expect.stringMatching(/No recipient: To is empty and delivery \d+ .* has no buyer email recorded/) });

		expect(smtp.messages).toHaveLength(0);
		for (const id of [d.id, noBuyerEmail.id]) {
			expect(await store.getDeliveryById(id)).toMatchObject({ status: 'claimed', lastError: null, sendCount: 0 });
		}
		expect((await store.listEvents({ orderId: o.orderId })).map((e) => e.type)).toEqual(['claimed']);
	});
});

describe('SMTP failures are recorded as send_failed, without the key, and the delivery stays sendable', () => {
	const cases: Array<[string, 'reject' | 'tempfail' | 'drop' | 'auth-fail', RegExp]> = [
		['550 reject', 'reject', /rejected the message \(550 Mailbox unavailable/],
		['451 temporary failure', 'tempfail', /deferred the message \(451 Try again later/],
		['dropped connection', 'drop', /Cannot talk to the SMTP server|connection|closed/i],
		['auth failure', 'auth-fail', /refused the login \(535/],
	];

	it.each(cases)('%s', async (_name, fault, expected) => {
		const o = order();
		const d = await claimed(o);
		const keys = await keysOf(d.id);
		// A refused login only shows on a new connection: start without pooled ones (a fresh n8n process).
		if (fault === 'auth-fail') closeAllTransports();
		smtp.setFault(fault);
		const nodes = [start(), data([{ deliveryId: d.id, buyer: o.buyer }]), notifyNode()];
		const r = await run(nodes);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/^Email to buyer\d+@example.com failed: /);
		expect(r.error?.message).toMatch(expected);
		expect((r.error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
		expect((r.error as unknown as { description?: string }).description).toMatch(new RegExp(`Recorded as send_failed on delivery ${d.id}`));
		expect(leaked(`${r.error?.message} ${JSON.stringify(r.raw)}`)).toEqual([]);
		expect(smtp.messages).toHaveLength(0);

		const after = (await store.getDeliveryById(d.id))!;
		expect(after).toMatchObject({ status: 'claimed', sentAt: null, sendCount: 0, lastError: expect.stringMatching(expected) });
		const failed = await store.listEvents({ orderId: o.orderId, type: 'send_failed' });
		expect(failed).toHaveLength(1);
		expect(failed[0].details).toMatchObject({ channel: 'email', error: expect.stringMatching(expected) });

		// continueOnFail: the item goes on, marked failed
		const c = await run([start(), data([{ deliveryId: d.id, buyer: o.buyer, keys: keys, keysMasked: false }]), notifyNode({}, { onError: 'continueRegularOutput' })]);
		expect(c.status).toBe('success');
		const item = json(c.outputs.Notify[0])[0];
		expect(item).toMatchObject({ deliveryId: d.id, status: 'claimed', keysMasked: true, notify: { sent: false, alreadySent: false, channel: 'email', recipient: o.buyer.email, error: expect.stringMatching(expected) } });
		expect(c.outputs.Notify[0][0].pairedItem).toEqual({ item: 0 });
		expect(leaked(JSON.stringify(item))).toEqual([]);

		// the fault is gone: the same Send now delivers
		smtp.clear();
		const ok = await run(nodes);
		expect(ok.status).toBe('success');
		expect(json(ok.outputs.Notify[0])[0].notify).toMatchObject({ sent: true, sendCount: 1 });
		expect(smtp.messages).toHaveLength(1);
		expect(smtp.messages[0].text).toContain(keys[0]);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', lastError: null });
	});

	it('an SMTP reply that echoes the key is scrubbed from the error, the record and the event', async () => {
		// A mail filter that quotes the offending content back, as some do.
		const { server: echo, port } = await rawSmtp((raw, callback) => {
			const found = raw.match(/NBK-\d{4}-[A-Z0-9]+/);
			callback(Object.assign(new Error(`Message refused: content "${found?.[0]}" looks like a licence key`), { responseCode: 554 }));
		});
		try {
			const o = order();
			const d = await claimed(o);
			const [key] = await keysOf(d.id);
			const r = await run([start(), data([{ deliveryId: d.id, buyer: o.buyer }]), notifyNode()], { port, user: '', password: '' });
			expect(r.status).toBe('error');
			expect(r.error?.message).toMatch(/rejected the message \(554 Message refused: content "NBK-…/);
			expect(r.error?.message).not.toContain(key);
			const after = (await store.getDeliveryById(d.id))!;
			expect(after.lastError).toMatch(/content "NBK-…/);
			expect(after.lastError).not.toContain(key);
			expect(JSON.stringify(await store.listEvents({ orderId: o.orderId }))).not.toContain(key);
		} finally {
			closeAllTransports();
			await new Promise<void>((res) => echo.close(() => res()));
		}
	});
});

describe('Notify Buyer by webhook (IM bots, SMS gateways, the shop message API)', () => {
	const hookNode = (path: string, params: Record<string, unknown> = {}, extra: Partial<INode> = {}) =>
		notifyNode({ channel: 'webhook', webhookUrl: `${shop.url}${path}?access_token=im-bot-token-5566`, ...params, options: { backoffMs: 10, ...((params.options as object) ?? {}) } }, extra);

	it('500, 500, then OK: retried, sent, the message id read from the answer; the body is valid JSON with the keys', async () => {
		const evil = '"小明"\n\\ <b>{orderId}';
		const o = order({ quantity: 2, buyer: { id: 'u-hook', name: evil, email: 'hook@example.com' } });
		shop.faults('/hook/retry', [500, 503]);
		const r = await run([start(), importNode(), data([o]), claimNode(), hookNode('/hook/retry')]);
		expect(r.status).toBe('success');
		expect(shop.requests.map((q) => q.outcome)).toEqual([500, 503, 200]);
		const item = json(r.outputs.Notify[0])[0];
		const keys = await keysOf(item.deliveryId);
		expect(item).toMatchObject({ status: 'sent', notify: { sent: true, channel: 'webhook', recipient: `${shop.url}/hook/retry`, messageId: 'SHIP-1', attempts: 3, sendCount: 1 } });
		const last = shop.requests[2];
		expect(last.method).toBe('POST');
		expect(last.headers['content-type']).toMatch(/application\/json/);
		expect(last.query.access_token).toBe('im-bot-token-5566');
		expect(JSON.parse(last.rawBody)).toEqual({
			orderId: o.orderId,
			productName: PRODUCT,
			buyerName: evil,
			quantity: 2,
			date: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/),
			content: keys.join('\n'),
			text: `【${PRODUCT}】发货通知 / Your order ${o.orderId}\n发货内容 / Delivery content:\n${keys.join('\n')}`,
		});
		expect(await store.getDeliveryById(item.deliveryId)).toMatchObject({ status: 'sent', sentChannel: 'webhook', sentMessageId: 'SHIP-1' });
		expect(leaked(JSON.stringify(r.raw))).toEqual([]);
		expect(JSON.stringify(r.raw)).not.toContain('im-bot-token-5566');
	});

	it('400 is not retried; the answer echoing the key is scrubbed; send_failed recorded; continueOnFail passes the item on', async () => {
		const o = order();
		const d = await claimed(o);
		const [key] = await keysOf(d.id);
		shop.respondWith('/hook/bad', (req) => ({ status: 400, body: { error: 'bad request', echo: req.body } }));
		const r = await run([start(), data([{ deliveryId: d.id, buyer: o.buyer }]), hookNode('/hook/bad', { jsonBody: '{"msg": "{发货内容}", "n": {数量}}' })]);
		expect(r.status).toBe('error');
		expect(shop.requests).toHaveLength(1);
		expect(JSON.parse(shop.requests[0].rawBody)).toEqual({ msg: key, n: 1 });
		expect(r.error?.message).toMatch(new RegExp(`^Webhook POST ${shop.url}/hook/bad failed: The server refused the request: 400`));
		expect(r.error?.message).toContain('NBK-…');
		expect(r.error?.message).not.toContain(key);
		expect((r.error as unknown as { httpCode?: string }).httpCode).toBe('400');
		const after = (await store.getDeliveryById(d.id))!;
		expect(after).toMatchObject({ status: 'claimed', sendCount: 0 });
		expect(after.lastError).toMatch(/400/);
		expect(after.lastError).not.toContain(key);
		expect(JSON.stringify(await store.listEvents({ orderId: o.orderId }))).not.toContain(key);

		const c = await run([start(), data([{ deliveryId: d.id, buyer: o.buyer }]), hookNode('/hook/bad', {}, { onError: 'continueRegularOutput' })]);
		expect(c.status).toBe('success');
		expect(json(c.outputs.Notify[0])[0]).toMatchObject({ status: 'claimed', notify: { sent: false, channel: 'webhook', error: expect.stringMatching(/400/) } });
		expect(leaked(JSON.stringify(c.raw))).toEqual([]);
	});

	it('a timeout fails after the configured attempts; a dropped connection is retried', async () => {
		const o = order();
		const d = await claimed(o);
		shop.faults('/hook/slow', ['timeout', 'timeout']);
		const r = await run([start(), data([{ deliveryId: d.id }]), hookNode('/hook/slow', { options: { timeoutMs: 300, retries: 1 } })]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/No answer from 127\.0\.0\.1:\d+ within 300 ms\. Gave up after 2 attempts\./);
		expect(shop.requests.map((q) => q.outcome)).toEqual(['timeout', 'timeout']);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'claimed', lastError: expect.stringMatching(/No answer/) });

		shop.faults('/hook/reset', ['reset']);
		const ok = await run([start(), data([{ deliveryId: d.id }]), hookNode('/hook/reset', { options: { timeoutMs: 2000 } })]);
		expect(ok.status).toBe('success');
		expect(shop.requests.slice(2).map((q) => q.outcome)).toEqual(['reset', 200]);
		expect(json(ok.outputs.Notify[0])[0].notify).toMatchObject({ sent: true, attempts: 2 });
	});

	it('an IM bot answering 200 with errcode ≠ 0 is a failed send, not a sent one', async () => {
		const o = order();
		const d = await claimed(o);
		shop.respondWith('/robot/send', () => ({ status: 200, body: { errcode: 310000, errmsg: 'keywords not in content' } }));
		const r = await run([start(), data([{ deliveryId: d.id }]), hookNode('/robot/send', { jsonBody: '{"msgtype": "text", "text": {"content": "{订单号} {发货内容}"}}' })]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/answered 200 but refused the message \(errcode 310000: keywords not in content\)/);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'claimed', sentAt: null });
	});

	it('with the Auto Delivery Shop API credential: a path on its base URL, its token sent and kept out of outputs', async () => {
		const o = order();
		const d = await claimed(o);
		shop.respondWith('/api/messages', () => ({ status: 201, body: { data: { id: 'MSG-77' } } }));
		const r = await run([
			start(),
			data([{ deliveryId: d.id }]),
			notifyNode({ channel: 'webhook', webhookAuth: 'shopApi', webhookUrl: '/messages', webhookMethod: 'PUT', webhookHeaders: { header: [{ name: 'X-Shop', value: 'helloworld' }] }, options: { messageIdField: 'data.id' } }),
		]);
		expect(r.status).toBe('success');
		const [req] = shop.requests;
		expect(req).toMatchObject({ method: 'PUT', path: '/api/messages' });
		expect(req.headers.authorization).toBe(`Bearer ${SHOP_TOKEN}`);
		expect(req.headers['x-shop']).toBe('helloworld');
		expect(json(r.outputs.Notify[0])[0].notify).toMatchObject({ sent: true, messageId: 'MSG-77', recipient: `${shop.url}/api/messages` });
		expect(leaked(JSON.stringify(r.raw))).toEqual([]);

		const elsewhere = await run([start(), data([{ deliveryId: d.id }]), notifyNode({ operation: 'resend', channel: 'webhook', webhookAuth: 'shopApi', webhookUrl: 'https://collector.example.net/x' })]);
		expect(elsewhere.status).toBe('error');
		expect(elsewhere.error?.message).toMatch(/points to collector.example.net, not to the shop API/);
		expect(shop.requests).toHaveLength(1);
	});

	it('an invalid JSON body template is refused before anything is sent or recorded', async () => {
		const o = order();
		const d = await claimed(o);
		const r = await run([start(), data([{ deliveryId: d.id }]), hookNode('/hook/x', { jsonBody: '{"text": {发货内容}' })]);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/The JSON Body is not valid JSON/);
		expect(shop.requests).toHaveLength(0);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'claimed', lastError: null });
	});
});

describe('concurrency: one delivery, many senders → exactly one mail', () => {
	it('10 executions of the workflow at once send one mail; the other 9 wait for the lease and answer alreadySent', async () => {
		// An SMTP peer that holds its answer to DATA until released: the first sender keeps the lease
		// while all 10 executions are inside beginSend, so the race is real, not sequential.
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const arrived: string[] = [];
		const { server: gated, port } = await rawSmtp((raw, callback) => {
			arrived.push(raw);
			void gate.then(() => callback(null, `Queued as gated-${arrived.length}`));
		});
		const begun = jest.spyOn(store, 'beginSend');
		try {
			const o = order();
			const d = await claimed(o);
			const all = Promise.all(Array.from({ length: 10 }, () => run([start(), data([{ deliveryId: d.id, buyer: o.buyer }]), notifyNode()], { port, user: '', password: '' })));
			await until(() => begun.mock.calls.filter(([id]) => id === d.id).length === 10 && arrived.length === 1);
			release();
			const runs = await all;
			expect(runs.map((r) => r.status)).toEqual(Array(10).fill('success'));
			const notes = runs.map((r) => json(r.outputs.Notify[0])[0].notify);
			expect(notes.filter((x) => x.sent && !x.alreadySent)).toHaveLength(1);
			expect(notes.filter((x) => x.sent && x.alreadySent)).toHaveLength(9);
			expect(arrived).toHaveLength(1);
			expect(arrived[0]).toContain((await keysOf(d.id))[0]);
			expect(new Set(notes.map((x) => x.messageId)).size).toBe(1);
			expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', sendCount: 1 });
			expect(await store.listEvents({ orderId: o.orderId, type: 'sent' })).toHaveLength(1);
		} finally {
			begun.mockRestore();
			release();
			closeAllTransports();
			await new Promise<void>((res) => gated.close(() => res()));
		}
	});

	it('a send racing a failing send: the failure frees the lease and the delivery is still sent exactly once', async () => {
		const o = order();
		const d = await claimed(o);
		const ok = await Promise.all(
			Array.from({ length: 6 }, (_, i) =>
				notifyDelivery(store, {
					deliveryId: d.id,
					channel: { kind: 'email', smtp: { host: smtp.host, port: smtp.port, security: 'none', user: SMTP_USER, password: i % 2 ? 'wrong-password' : SMTP_PASS, from: 'shop@example.com' } },
				}).then(
					(r) => r.outcome,
					(e: Error) => `error: ${e.message}`,
				),
			),
		);
		expect(ok.filter((x) => x === 'sent')).toHaveLength(1);
		expect(smtp.messages).toHaveLength(1);
		expect(ok.every((x) => x === 'sent' || x === 'already_sent' || /refused the login/.test(x))).toBe(true);
	});

	for (const kind of ['sqlite', 'postgres'] as const) {
		describeDb(kind, 'several OS processes on one store', () => {
			let rcfg: StoreConfig;
			let rstore: KeyStore;
			beforeAll(async () => {
				rcfg = storeConfig(kind);
				rstore = await KeyStore.open(rcfg);
			});
			afterAll(async () => {
				await rstore?.close();
				await dropStore(rcfg);
			});

			it('3 processes × 3 in flight send the same 6 deliveries: exactly one mail each', async () => {
				const keys = Array.from({ length: 6 }, (_, i) => `RACE-${kind}-${i}-${Math.random().toString(36).slice(2, 10)}`);
				await rstore.importKeys({ sku: 'RACE', keys, productName: 'Race' });
				const ids: number[] = [];
				for (let i = 0; i < 6; i++) {
					const c = await rstore.claim({ orderId: `R-${i}`, sku: 'RACE', buyer: { email: `race${i}@example.com` } });
					if (!c.delivered) throw new Error('claim failed');
					ids.push(c.delivery.id);
				}
				const smtpCfg = { host: smtp.host, port: smtp.port, security: 'none' as const, user: SMTP_USER, password: SMTP_PASS, from: 'shop@example.com' };
				const perProcess = [ids, [...ids].reverse(), [...ids.slice(3), ...ids.slice(0, 3)]];
				const results = (await raceNotify(rcfg, smtpCfg, perProcess, 3)).flat();
				expect(results.filter((r) => r.error)).toEqual([]);
				expect(results).toHaveLength(18);
				for (const id of ids) {
					const mine = results.filter((r) => r.deliveryId === id);
					expect({ id, sent: mine.filter((r) => r.outcome === 'sent').length, already: mine.filter((r) => r.outcome === 'already_sent').length }).toEqual({ id, sent: 1, already: 2 });
				}
				expect(new Set(results.map((r) => r.pid)).size).toBe(3);
				expect(smtp.messages).toHaveLength(6);
				expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(ids.map((_, i) => `race${i}@example.com`).sort());
				for (let i = 0; i < 6; i++) expect(smtp.messages.find((m) => m.to[0] === `race${i}@example.com`)?.text).toContain(keys[i]);
				for (const id of ids) expect(await rstore.getDeliveryById(id)).toMatchObject({ status: 'sent', sendCount: 1 });
			});
		});
	}
});

describe('SMTP credential test (testedBy on Notify Buyer)', () => {
	const test = (d: Record<string, unknown>) => testSmtpCredential.call({} as never, { id: '1', name: 'c', type: 'autoDeliverySmtp', data: d } as never);

	it('connects and logs in', async () => {
		expect(await test(smtpCred())).toEqual({ status: 'OK', message: `Connected to 127.0.0.1:${smtp.port}; the login was accepted.` });
	});

	it('names a refused login and an unreachable server, without the password', async () => {
		const wrong = await test(smtpCred({ password: 'wrong-secret-pass' }));
		expect(wrong).toEqual({ status: 'Error', message: expect.stringMatching(/refused the login \(535 .*\)\. Check user and password\./) });
		expect(wrong.message).not.toContain('wrong-secret-pass');
		const free = net.createServer();
		await new Promise<void>((res) => free.listen(0, '127.0.0.1', () => res()));
		const port = (free.address() as net.AddressInfo).port;
		await new Promise<void>((res) => free.close(() => res()));
		expect(await test(smtpCred({ port }))).toEqual({
			status: 'Error',
			message: `Cannot talk to the SMTP server 127.0.0.1:${port}: the connection was refused (ECONNREFUSED), nothing listens there. Check host and port (465 for TLS, 587 for STARTTLS, 25 for a plain relay).`,
		});
		expect(await test(smtpCred({ host: '' }))).toEqual({ status: 'Error', message: expect.stringMatching(/SMTP host is missing/) });
	});

	it('names a Security setting that does not match the server', async () => {
		expect(await test(smtpCred({ security: 'tls' }))).toEqual({ status: 'Error', message: expect.stringMatching(/TLS problem with the SMTP server .*does not speak TLS on this port/) });
		expect(await test(smtpCred({ security: 'starttls' }))).toEqual({ status: 'Error', message: expect.stringMatching(/does not accept STARTTLS/) });
	});
});

describe('secret hygiene', () => {
	it('no plaintext key or password in the events table, the delivery errors, or anything logged', async () => {
		const events = await store.listEvents({ limit: 10000 });
		expect(events.length).toBeGreaterThan(20);
		expect(leaked(JSON.stringify(events))).toEqual([]);
		const deliveries = await store.getDeliveries({ orderId: 'NB-MULTI' });
		expect(leaked(JSON.stringify(deliveries))).toEqual([]);
		expect(leaked(captured.join('\n'))).toEqual([]);
	});
});

