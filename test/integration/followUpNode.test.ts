/**
 * Notify Buyer → Send Follow-Up inside n8n's own engine (n8n-core WorkflowExecute) on a real SQLite
 * store, with a real SMTP peer and a local HTTP peer for the webhook channel: one output item per
 * follow-up with pairedItem, no key anywhere, On Error → Continue for a failed send, the node's
 * error otherwise, and bad settings that change nothing.
 */
import type { ICredentialDataDecryptedObject, INode, INodeExecutionData, INodeType } from 'n8n-workflow';

import { closeAllTransports } from '../../nodes/core/outbound';
import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { dropStore, makeKeys, storeConfig } from '../helpers/db';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';

const NOTIFY = 'n8n-nodes-auto-delivery.notifyBuyer';
const nodeTypes: Record<string, INodeType> = { [NOTIFY]: new NotifyBuyer() };
const cfg = storeConfig('sqlite');
const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
const SKU = 'FUN-1';
const REVIEW = 'https://shop.example.com/review/fun-1';
const KEYS = makeKeys(20, 'FUN');

let smtp: SmtpPeer;
let shop: ShopPeer;
let store: KeyStore;
let n = 0;
const { node, start } = workflowBuilders();
const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json as Record<string, any>);

const credentials = () => [
	{ type: 'autoDeliveryKeyStore', data: credData },
	{ type: 'autoDeliverySmtp', data: { host: smtp.host, port: smtp.port, security: 'none', user: '', password: '', from: 'Shop <shop@example.com>' } },
];
const followUpNode = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) => node('Follow Up', NOTIFY, { operation: 'sendFollowUp', ...params }, extra);
const run = (nodes: INode[]) => runWorkflow({ nodes, connections: chain(...nodes.map((x) => x.name)) }, { nodeTypes, credentials: credentials() });

/** A delivery of SKU sent `hoursAgo` hours ago (sent_at moved back: the node reads the real clock). */
async function sentDelivery(email: string | null, hoursAgo = 3) {
	const r = await store.claim({ orderId: `FUN-${++n}`, sku: SKU, buyer: { name: `Buyer ${n}`, email } });
	if (!r.delivered) throw new Error(r.reason);
	const lease = await store.beginSend(r.delivery.id);
	if (lease.kind !== 'go') throw new Error(lease.kind);
	await store.markSent(r.delivery.id, lease.token, { channel: 'email', messageId: null });
	const ctx = internals(store);
	await ctx.db(ctx.t.deliveries).where({ id: r.delivery.id }).update({ sent_at: Date.now() - hoursAgo * 3_600_000 });
	return r.delivery;
}

beforeAll(async () => {
	[smtp, shop] = await Promise.all([startSmtpServer(), startShopServer()]);
	store = await getStore(storeConfigFromCredentials(credData as ICredentialDataDecryptedObject));
	await store.importKeys({ sku: SKU, keys: KEYS, productName: 'Follow-up product' });
	await store.upsertProduct({ sku: SKU, settings: { followUpAfterHours: 2, reviewUrl: REVIEW, usageGuide: 'Open the app and redeem.' } });
});
afterAll(async () => {
	closeAllTransports();
	await Promise.all([smtp?.close(), shop?.close()]);
	await closeAllStores();
	await dropStore(cfg);
});
beforeEach(async () => {
	smtp.clear();
	shop.clear();
	const ctx = internals(store);
	await ctx.db(ctx.t.deliveries).whereNull('follow_up_at').update({ follow_up_at: 1 });
});

const leaked = (text: string) => KEYS.filter((k) => text.includes(k) || text.includes(k.slice(0, 12)));

it('one item per follow-up (pairedItem to the trigger item), one mail each, no key; the next run sends none', async () => {
	const a = await sentDelivery('ann@example.com');
	const b = await sentDelivery('ben@example.com');
	await sentDelivery('notyet@example.com', 1); // not due for another hour
	const r = await run([start(), followUpNode()]);
	expect(r.status).toBe('success');
	const out = json(r.outputs['Follow Up'][0]);
	expect(out.map((o) => [o.deliveryId, o.followUp.sent, o.followUp.recipient])).toEqual([
		[a.id, true, 'ann@example.com'],
		[b.id, true, 'ben@example.com'],
	]);
	expect(out[0]).toMatchObject({ orderId: a.orderId, shop: null, sku: SKU, quantity: 1, status: 'sent', buyer: { email: 'ann@example.com' }, followUp: { channel: 'email' } });
	expect(r.outputs['Follow Up'][0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
	expect(smtp.messages.map((m) => m.to.join())).toEqual(['ann@example.com', 'ben@example.com']);
	expect(smtp.messages[0].text).toContain(REVIEW);
	expect(smtp.messages[0].text).toContain('Open the app and redeem.');
	expect(leaked(JSON.stringify(r.runData) + smtp.messages.map((m) => m.raw).join())).toEqual([]);
	const again = await run([start(), followUpNode()]);
	expect(again.status).toBe('success');
	expect(json(again.outputs['Follow Up']?.[0])).toEqual([]);
	expect(smtp.messages).toHaveLength(2);
});

it('a failed send: the node fails naming the order (recorded, not retried); with On Error → Continue the item says so', async () => {
	const a = await sentDelivery('cat@example.com');
	smtp.setFault('reject');
	const r = await run([start(), followUpNode()]);
	expect(r.status).toBe('error');
	expect(r.error?.message).toMatch(new RegExp(`Follow-up email to cat@example.com \\(order ${a.orderId}, SKU ${SKU}\\) failed`));
	expect((await store.listEvents({ orderId: a.orderId, type: 'follow_up_failed' })).map((e) => e.deliveryId)).toEqual([a.id]);

	const b = await sentDelivery('dog@example.com');
	const c = await run([start(), followUpNode({}, { onError: 'continueRegularOutput' })]);
	expect(c.status).toBe('success');
	const out = json(c.outputs['Follow Up'][0]);
	expect(out).toHaveLength(1); // the run stops at the first failure
	expect(out[0]).toMatchObject({ deliveryId: b.id, followUp: { sent: false, recipient: 'dog@example.com', error: expect.stringMatching(/not sent again/) } });
	expect(c.outputs['Follow Up'][0][0].pairedItem).toEqual({ item: 0 });
	smtp.setFault('none');
	const d = await run([start(), followUpNode()]);
	expect(json(d.outputs['Follow Up']?.[0])).toEqual([]); // neither a nor b is retried
	expect(smtp.messages).toEqual([]);
});

it('webhook channel: the follow-up JSON body with the review link, to the configured URL', async () => {
	const a = await sentDelivery(null);
	const r = await run([start(), followUpNode({ channel: 'webhook', webhookUrl: `${shop.url}/im/bot` })]);
	expect(r.status).toBe('success');
	expect(json(r.outputs['Follow Up'][0]).map((o) => [o.deliveryId, o.followUp.sent])).toEqual([[a.id, true]]);
	expect(shop.requests.map((q) => q.path)).toEqual(['/im/bot']);
	expect(shop.requests[0].body).toMatchObject({ orderId: a.orderId, productName: 'Follow-up product', reviewUrl: REVIEW });
	expect(leaked(shop.requests[0].rawBody)).toEqual([]);
});

it('bad settings change nothing: a follow-up template with the keys fails with the field named', async () => {
	const a = await sentDelivery('eve@example.com');
	const r = await run([start(), followUpNode({ followUpText: 'Your key again: {deliveryContent}' })]);
	expect(r.status).toBe('error');
	expect(r.error?.message).toMatch(/never carries the keys/);
	const ctx = internals(store);
	expect((await ctx.db(ctx.t.deliveries).where({ id: a.id }).first('follow_up_at')).follow_up_at).toBeNull();
	expect(smtp.messages).toEqual([]);
});
