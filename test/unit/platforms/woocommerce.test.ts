/**
 * WooCommerce preset (nodes/core/intake/platforms/woocommerce.ts) through Shop Webhook's decision:
 * the docs' order 727 signed as WooCommerce signs it, the ping, statuses, topics and exact ids.
 */
import { WebhookConfigError, decideWebhook, type WebhookSettings } from '../../../nodes/core/intake';
import { woocommerce, wpSpecialcharsDecode } from '../../../nodes/core/intake/platforms/woocommerce';
import { decide, edited, expectAction, expectUnauthorized, fixtureBytes, hmacOf, post } from '../../helpers/platformRequests';

const SECRET = 'wc-fixture-secret-0only0not0real';
const ORDER = fixtureBytes('woocommerce', 'order-727-processing.json');

/*
 * Vectors computed independently of the code, over the fixture's exact bytes:
 *   F=test/fixtures/platforms/woocommerce/order-727-processing.json
 *   openssl dgst -sha256 -hmac 'wc-fixture-secret-0only0not0real' -binary < $F | base64
 *   openssl dgst -sha256 -hmac 's3cr&t-fixture-0only' -binary < $F | base64        (stored secret 's3cr&amp;t-fixture-0only')
 *   openssl dgst -sha512 -hmac 'wc-fixture-secret-0only0not0real' -binary < $F | base64 -w0
 */
const SIG = '0mCWV6LUlaojTCNCgsS/9AGNah2PjGblZqpKdhl2M+4=';
const SIG_AMP = 'KXdRdRbG75UUBlx3wqNW67MHhh72piQ+3ZiNTTiWsOU=';
const SIG_512 = '7ICqetDVmAYcR2PquORxizVqWYsxJ+f6GV/bf+7YE9KhtHIl1UFpn+ikRNxfMO/pBfwI2Z+Wc8nyR2QWYeFAgw==';

const SETTINGS: WebhookSettings = { platform: 'woocommerce', shopName: 'mystore', secret: SECRET, events: 'any' };

/** A delivery as WC_Webhook::deliver() sends it (headers of class-wc-webhook.php). */
const delivery = (body: Buffer, topic = 'order.updated', signature = hmacOf('sha256', SECRET, [body], 'base64')) =>
	post(body, {
		'x-wc-webhook-source': 'https://example.com/', 'x-wc-webhook-topic': topic, 'x-wc-webhook-resource': topic.split('.')[0],
		'x-wc-webhook-signature': signature, 'x-wc-webhook-delivery-id': 'd41d8cd98f00b204e9800998ecf8427e',
	});

const withStatus = (status: string) => edited(ORDER, '"status":"processing"', `"status":"${status}"`);

describe('WooCommerce: signature (base64 HMAC-SHA256 of the raw body, class-wc-webhook.php generate_signature)', () => {
	it('the test HMAC agrees with the openssl vector', () => {
		expect(hmacOf('sha256', SECRET, [ORDER], 'base64')).toBe(SIG);
	});

	it('accepts the docs order signed with the openssl vector, as the canonical order of shop woocommerce:<name>', () => {
		const d = expectAction(decide(delivery(ORDER, 'order.created', SIG), SETTINGS), 'accept');
		expect(d.order).toEqual({
			event: 'order.paid', orderId: '727', shop: 'woocommerce:mystore', amount: 29.35, currency: 'USD', paidAt: '2017-03-22T19:28:08.000Z',
			buyer: { id: null, name: 'John Doe', email: 'john.doe@example.com', ip: null },
			items: [{ sku: '93', name: 'Woo Single #1', quantity: 2, price: 3 }, { sku: 'Bar3', name: 'Ship Your Idea &ndash; Color: Black, Size: M Test', quantity: 1, price: 12 }],
		});
		expect(d.ack).toEqual({ received: true, orderId: '727' });
		expect(d.eventId).toBe('d41d8cd98f00b204e9800998ecf8427e');
		expect(d.items.map((i) => [i.shop, i.orderId, 'sku' in i ? i.sku : null])).toEqual([
			['woocommerce:mystore', '727', '93'],
			['woocommerce:mystore', '727', 'Bar3'],
		]);
	});

	it('decideWebhook gives the same answer (WooCommerce never needs the API)', () => {
		expect(decideWebhook(delivery(ORDER, 'order.created', SIG), SETTINGS)).toEqual(decide(delivery(ORDER, 'order.created', SIG), SETTINGS));
	});

	it('signs with the stored secret HTML-decoded, as WooCommerce does (wp_specialchars_decode)', () => {
		expect(wpSpecialcharsDecode('s3cr&amp;t-fixture-0only')).toBe('s3cr&t-fixture-0only');
		expect(wpSpecialcharsDecode('a&lt;b&gt;c&quot;d&#039;e&#x27;f&#38;g')).toBe('a<b>c"d\'e\'f&g');
		expect(wpSpecialcharsDecode('plain-secret')).toBe('plain-secret');
		expectAction(decide(delivery(ORDER, 'order.created', SIG_AMP), { ...SETTINGS, secret: 's3cr&amp;t-fixture-0only' }), 'accept');
	});

	it('option algorithm follows the woocommerce_webhook_hash_algorithm filter', () => {
		const settings = { ...SETTINGS, platformOptions: { algorithm: 'sha512' } };
		expectAction(decide(delivery(ORDER, 'order.created', SIG_512), settings), 'accept');
		expectUnauthorized(decide(delivery(ORDER, 'order.created', SIG), settings), 'bad_format', 'x-wc-webhook-signature');
	});

	it('401: wrong secret, forged, tampered body, missing or malformed header — nothing starts', () => {
		const field = 'x-wc-webhook-signature';
		expectUnauthorized(decide(delivery(ORDER, 'order.created', SIG), { ...SETTINGS, secret: 'another-secret-entirely' }), 'mismatch', field);
		expectUnauthorized(decide(delivery(ORDER, 'order.created', Buffer.alloc(32, 7).toString('base64')), SETTINGS), 'mismatch', field);
		const tampered = edited(ORDER, '"quantity":2', '"quantity":20');
		const body = expectUnauthorized(decide(delivery(tampered, 'order.created', SIG), SETTINGS), 'mismatch', field);
		expect(body.error).toBe('The signature does not match: the body was changed, or WooCommerce signs with a different secret.');
		expect(JSON.stringify(body)).not.toContain(SIG);
		const missing = delivery(ORDER);
		delete missing.headers['x-wc-webhook-signature'];
		expectUnauthorized(decide(missing, SETTINGS), 'missing_signature', field);
		expectUnauthorized(decide(delivery(ORDER, 'order.created', Buffer.from(SIG, 'base64').toString('hex')), SETTINGS), 'bad_format', field);
		expectUnauthorized(decide(delivery(ORDER, 'order.created', 'sha256=' + SIG), SETTINGS), 'bad_format', field);
	});
});

describe('WooCommerce: the ping when a webhook is saved (deliver_ping: "webhook_id=<id>", needs 200)', () => {
	it('answers 200 and starts nothing, unsigned and form-encoded', () => {
		const ping = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: 'webhook_id=12' };
		const d = expectAction(decide(ping, SETTINGS), 'ignore', 200);
		expect(d.body).toEqual({ ignored: true, event: 'ping', message: 'WooCommerce webhook 12 ping acknowledged; nothing was started.' });
		expectAction(decide({ ...ping, headers: {} }, SETTINGS), 'ignore', 200);
	});

	it('anything else form-encoded is still refused (415), and a method other than POST is 405', () => {
		const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: 'webhook_id=12&x=1' };
		expectAction(decide(form, SETTINGS), 'reject', 415);
		expectAction(decide({ ...form, rawBody: 'webhook_id=12', method: 'GET' }, SETTINGS), 'reject', 405);
	});
});

describe('WooCommerce: topics and statuses', () => {
	it.each(['pending', 'on-hold', 'cancelled', 'failed', 'trash', 'checkout-draft'])('status %s → 200 ignored (not paid yet)', (status) => {
		const d = expectAction(decide(delivery(withStatus(status), 'order.created'), SETTINGS), 'ignore', 200);
		expect(d.body.event).toBe('order.created');
		expect(d.body.message).toContain(`"${status}", not paid`);
	});

	it('status completed → paid', () => {
		expect(expectAction(decide(delivery(withStatus('completed')), SETTINGS), 'accept').order.event).toBe('order.paid');
	});

	it('status refunded → the whole order refunded (200 ignored when the webhook handles order.paid only)', () => {
		const d = expectAction(decide(delivery(withStatus('refunded')), SETTINGS), 'accept');
		expect(d.order).toMatchObject({ event: 'order.refunded', orderId: '727', shop: 'woocommerce:mystore', items: [] });
		const paidOnly = expectAction(decide(delivery(withStatus('refunded')), { ...SETTINGS, events: 'order.paid' }), 'ignore', 200);
		expect(paidOnly.body.event).toBe('order.refunded');
	});

	it('option paidStatuses adds a store status that means paid', () => {
		const settings = { ...SETTINGS, platformOptions: { paidStatuses: 'processing,completed,paid-manual' } };
		expectAction(decide(delivery(withStatus('paid-manual')), settings), 'accept');
		expectAction(decide(delivery(withStatus('on-hold')), settings), 'ignore', 200);
	});

	it.each(['order.deleted', 'order.restored', 'product.updated', 'customer.created', 'action.woocommerce_add_to_cart'])(
		'signed topic %s → 200 ignored, never 4xx (WooCommerce disables a webhook after 5 failures)',
		(topic) => {
			const d = expectAction(decide(delivery(ORDER, topic), SETTINGS), 'ignore', 200);
			expect(d.body.event).toBe(topic);
		},
	);

	it('a delivery without X-WC-Webhook-Topic is ignored too', () => {
		const req = delivery(ORDER);
		delete req.headers['x-wc-webhook-topic'];
		expect(expectAction(decide(req, SETTINGS), 'ignore', 200).body.event).toBe('unknown');
	});

	it('order.updated three times → three accepts of the same (shop, orderId, sku): idempotency is the store’s job', () => {
		const keys = [1, 2, 3].map(() => {
			const d = expectAction(decide(delivery(withStatus('completed'), 'order.updated'), SETTINGS), 'accept');
			return d.items.map((i) => `${i.shop}|${i.orderId}|${'sku' in i ? i.sku : ''}`);
		});
		expect(keys).toEqual([keys[0], keys[0], keys[0]]);
		expect(keys[0]).toEqual(['woocommerce:mystore|727|93', 'woocommerce:mystore|727|Bar3']);
	});
});

describe('WooCommerce: order identity and mapping', () => {
	it('a 19-digit order id keeps every digit (…201 and …202 are two orders)', () => {
		const ids = ['2840188394502391201', '2840188394502391202'].map((id) => {
			const d = expectAction(decide(delivery(edited(ORDER, '"id":727,', `"id":${id},`)), SETTINGS), 'accept');
			return d.order.orderId;
		});
		expect(ids).toEqual(['2840188394502391201', '2840188394502391202']);
	});

	it('the shop is woocommerce:<Shop Name>: two stores with order 727 are two orders', () => {
		const shops = ['eu', 'us'].map((shopName) => expectAction(decide(delivery(ORDER), { ...SETTINGS, shopName }), 'accept').order.shop);
		expect(shops).toEqual(['woocommerce:eu', 'woocommerce:us']);
	});

	it('option skuFrom: product_id or variation_id (falls back to product_id for simple products)', () => {
		const skus = (skuFrom: string) =>
			expectAction(decide(delivery(ORDER), { ...SETTINGS, platformOptions: { skuFrom } }), 'accept').order.items.map((i) => i.sku);
		expect(skus('product_id')).toEqual(['93', '22']);
		expect(skus('variation_id')).toEqual(['93', '23']);
		expect(skus('sku')).toEqual(['93', 'Bar3']);
	});

	it('Field Mapping overrides single fields from the payload (order fields and each line)', () => {
		const mapping = { 'buyer.id': 'order_key', 'buyer.email': 'billing.phone', 'items.name': 'id' };
		const d = decide(delivery(ORDER), { ...SETTINGS, mapping: { 'buyer.id': 'order_key', 'items.name': 'id', paidAt: 'date_created_gmt' } });
		const order = expectAction(d, 'accept').order;
		expect(order.buyer?.id).toBe('wc_order_58d2d042d1d');
		expect(order.items.map((i) => ('name' in i ? i.name : null))).toEqual(['315', '316']);
		expect(order.paidAt).toBe('2017-03-22T19:28:02.000Z');
		const bad = expectAction(decide(delivery(ORDER), { ...SETTINGS, mapping }), 'reject', 400);
		expect(bad.body).toEqual({ error: 'buyer.email (from "payload.billing.phone") is not an email address.', field: 'buyer.email' });
	});

	it('a line without SKU or product is a 400 naming the line; a body that is not JSON is a 400 on body', () => {
		const noProduct = edited(ORDER, '"product_id":93,', '"product_id":0,');
		const d = expectAction(decide(delivery(noProduct), SETTINGS), 'reject', 400);
		expect(d.body).toEqual({ error: 'items[0].sku is required.', field: 'items[0].sku' });
		expect(expectAction(decide(delivery(Buffer.from('{"id":')), SETTINGS), 'reject', 400).body.field).toBe('body');
	});
});

describe('WooCommerce: settings', () => {
	it('Shop Name is required; Event Mapping and mapping of event / shop contradict the preset', () => {
		const req = delivery(ORDER);
		const setting = (s: WebhookSettings) => {
			try {
				decide(req, s);
			} catch (e) {
				if (e instanceof WebhookConfigError) return e.setting;
				throw e;
			}
			return 'none';
		};
		expect(setting({ ...SETTINGS, shopName: ' ' })).toBe('shopName');
		expect(setting({ ...SETTINGS, mapping: { event: 'status' } })).toBe('mapping.event');
		expect(setting({ ...SETTINGS, mapping: { shop: 'number' } })).toBe('mapping.shop');
		expect(setting({ ...SETTINGS, eventValues: { processing: 'order.paid' } })).toBe('eventValues');
		expect(setting({ ...SETTINGS, platformOptions: { skuFrom: 'name' } })).toBe('platformOptions.skuFrom');
		expect(setting({ ...SETTINGS, platformOptions: { algorithm: 'md5' } })).toBe('platformOptions.algorithm');
		expect(setting({ ...SETTINGS, platform: 'magento' as never })).toBe('platform');
		expect(setting(SETTINGS)).toBe('none');
	});

	it('the Platform names its sources', () => {
		expect(woocommerce.sources.join(' ')).toContain('class-wc-webhook.php');
	});
});
