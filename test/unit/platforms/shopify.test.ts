/**
 * Shopify preset (nodes/core/intake/platforms/shopify.ts) through Shop Webhook's decision: the
 * reference's orders/paid and refunds/create samples signed as Shopify signs them.
 */
import type { WebhookSettings } from '../../../nodes/core/intake';
import { decide, edited, expectAction, expectUnauthorized, fixtureBytes, hmacOf, post } from '../../helpers/platformRequests';

const SECRET = 'shpss_fixture0only0not0a0real0secret';
const PAID = fixtureBytes('shopify', 'orders-paid.json');
const REFUND = fixtureBytes('shopify', 'refunds-create.json');

/*
 * Vectors computed independently of the code, over the fixtures' exact bytes:
 *   openssl dgst -sha256 -hmac 'shpss_fixture0only0not0a0real0secret' -binary < test/fixtures/platforms/shopify/orders-paid.json | base64
 *   openssl dgst -sha256 -hmac 'shpss_fixture0only0not0a0real0secret' -binary < test/fixtures/platforms/shopify/refunds-create.json | base64
 */
const SIG_PAID = '0EIERIoDSJFB7XRgRTiur5VBTmjaZfDW05IUdvfeHJA=';
const SIG_REFUND = 'GmWTV67NgDzr3JeqQ5VQ6cCtaNrDzywIGx/3gS7tAGY=';

const SETTINGS: WebhookSettings = { platform: 'shopify', shopName: 'jsmith', secret: SECRET, events: 'any' };

/** The headers of the reference's example delivery (https://shopify.dev/docs/api/webhooks, "Headers"). */
const HEADERS = {
	'X-Shopify-Shop-Domain': 'jsmith.myshopify.com', 'X-Shopify-API-Version': '2026-07',
	'X-Shopify-Webhook-Id': '545ebdd4-b7be-4d3d-b14e-54aa78e0e0f9', 'X-Shopify-Event-Id': '59d6d79c-595f-4e7e-bc6f-72f5c3d0c66f',
};
const delivery = (body: Buffer, topic: string, signature = hmacOf('sha256', SECRET, [body], 'base64')) =>
	post(body, { ...HEADERS, 'X-Shopify-Topic': topic, 'X-Shopify-Hmac-Sha256': signature });

describe('Shopify: signature (base64 HMAC-SHA256 of the raw body with the client secret)', () => {
	it('the test HMAC agrees with the openssl vectors', () => {
		expect(hmacOf('sha256', SECRET, [PAID], 'base64')).toBe(SIG_PAID);
		expect(hmacOf('sha256', SECRET, [REFUND], 'base64')).toBe(SIG_REFUND);
	});

	it('orders/paid → the canonical paid order of shop shopify:<name>, ids exact', () => {
		const d = expectAction(decide(delivery(PAID, 'orders/paid', SIG_PAID), SETTINGS), 'accept');
		expect(d.order).toEqual({
			event: 'order.paid', orderId: '820982911946154508', shop: 'shopify:jsmith', amount: 404.95, currency: 'USD', paidAt: '2022-01-01T00:00:00.000Z',
			buyer: { id: '115310627314723954', name: 'John Smith', email: 'jon@example.com', ip: null },
			items: [{ sku: 'SKU2006-001', name: 'Aviator sunglasses', quantity: 1, price: 89.99 }, { sku: 'LENS-PROTECT-2YR', name: 'Lens Protection Plan (2 Year)', quantity: 1, price: 19.99 }],
		});
		expect(d.eventId).toBe('59d6d79c-595f-4e7e-bc6f-72f5c3d0c66f');
	});

	it('refunds/create → the refunded lines of order_id (X-Shopify-Webhook-Id when there is no Event-Id)', () => {
		const req = delivery(REFUND, 'refunds/create', SIG_REFUND);
		delete req.headers['X-Shopify-Event-Id'];
		const d = expectAction(decide(req, SETTINGS), 'accept');
		expect(d.order).toEqual({
			event: 'order.refunded', orderId: '820982911946154508', shop: 'shopify:jsmith', buyer: null, amount: null, currency: null, paidAt: null,
			items: [{ sku: 'SKU2006-001', quantity: 1 }, { sku: 'LENS-PROTECT-2YR', quantity: 1 }],
		});
		expect(d.eventId).toBe('545ebdd4-b7be-4d3d-b14e-54aa78e0e0f9');
		expect(expectAction(decide(req, { ...SETTINGS, events: 'order.paid' }), 'ignore', 200).body.event).toBe('order.refunded');
	});

	it('401: wrong secret, forged, tampered body, missing or hex header', () => {
		const field = 'x-shopify-hmac-sha256';
		expectUnauthorized(decide(delivery(PAID, 'orders/paid', SIG_PAID), { ...SETTINGS, secret: 'shpss_another0secret' }), 'mismatch', field);
		expectUnauthorized(decide(delivery(PAID, 'orders/paid', SIG_REFUND), SETTINGS), 'mismatch', field);
		const tampered = edited(PAID, '"total_price":"404.95"', '"total_price":"0.01"');
		const body = expectUnauthorized(decide(delivery(tampered, 'orders/paid', SIG_PAID), SETTINGS), 'mismatch', field);
		expect(body.error).toContain('Shopify signs with a different secret');
		expectUnauthorized(decide(delivery(PAID, 'orders/paid', ''), SETTINGS), 'missing_signature', field);
		expectUnauthorized(decide(delivery(PAID, 'orders/paid', Buffer.from(SIG_PAID, 'base64').toString('hex')), SETTINGS), 'bad_format', field);
	});

	it('a forged topic header cannot turn a signed refund into a paid order the payload does not describe', () => {
		const d = expectAction(decide(delivery(REFUND, 'orders/paid', SIG_REFUND), SETTINGS), 'reject', 400);
		expect(d.body).toEqual({ error: 'items is required: at least one item.', field: 'items' });
	});
});

describe('Shopify: topics and options', () => {
	it.each(['orders/create', 'orders/updated', 'orders/cancelled', 'products/update', 'app/uninstalled'])('signed topic %s → 200 ignored', (topic) => {
		expect(expectAction(decide(delivery(PAID, topic), SETTINGS), 'ignore', 200).body.event).toBe(topic);
	});

	it('a refund of no lines (shipping or an amount only) is ignored, or the whole order with refundWithoutLines "whole"', () => {
		const text = REFUND.toString('utf8');
		const start = text.indexOf('"refund_line_items":[');
		const end = text.indexOf('],"transactions"');
		const noLines = edited(REFUND, text.slice(start, end + 1), '"refund_line_items":[]');
		const ignored = expectAction(decide(delivery(noLines, 'refunds/create'), SETTINGS), 'ignore', 200);
		expect(ignored.body.message).toContain('refunds no order lines');
		const whole = expectAction(decide(delivery(noLines, 'refunds/create'), { ...SETTINGS, platformOptions: { refundWithoutLines: 'whole' } }), 'accept');
		expect(whole.order).toMatchObject({ event: 'order.refunded', orderId: '820982911946154508', items: [] });
	});

	it('a line without SKU uses variant_id, then product_id; option skuFrom chooses', () => {
		const noSku = edited(edited(PAID, '"sku":"SKU2006-001"', '"sku":null'), '"sku":"LENS-PROTECT-2YR"', '"sku":""');
		const withVariant = edited(noSku, '"variant_id":null', '"variant_id":39072856');
		const skus = (body: Buffer, platformOptions = {}) =>
			expectAction(decide(delivery(body, 'orders/paid'), { ...SETTINGS, platformOptions }), 'accept').order.items.map((i) => i.sku);
		expect(skus(withVariant)).toEqual(['39072856']);
		expect(skus(withVariant, { skuFrom: 'variant_id' })).toEqual(['39072856']);
		const withProduct = edited(PAID, '"product_id":null', '"product_id":632910392');
		expect(skus(withProduct, { skuFrom: 'product_id' })).toEqual(['788032119674292922', '632910392']);
		const d = expectAction(decide(delivery(noSku, 'orders/paid'), SETTINGS), 'reject', 400);
		expect(d.body.field).toBe('items[1].sku');
	});

	it('buyer falls back to contact_email, billing name and client_details.browser_ip', () => {
		const body = edited(
			edited(edited(PAID, '"email":"jon@example.com"', '"email":""'), '"client_details":null', '"client_details":{"browser_ip":"203.0.113.7"}'),
			'"first_name":"John","last_name":"Smith"',
			'"first_name":null,"last_name":null',
		);
		const d = expectAction(decide(delivery(body, 'orders/paid'), SETTINGS), 'accept');
		expect(d.order.buyer).toEqual({ id: '115310627314723954', name: 'Steve Shipper', email: 'jon@example.com', ip: '203.0.113.7' });
	});
});
