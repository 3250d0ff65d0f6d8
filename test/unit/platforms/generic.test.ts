/**
 * Generic HMAC (nodes/core/intake/platforms/generic.ts): the canonical path — Field Mapping and
 * Event Mapping — with the seller's signature scheme.
 */
import { WebhookConfigError, type WebhookSettings } from '../../../nodes/core/intake';
import { decide, edited, expectAction, expectUnauthorized, fixtureBytes, hmacOf, post } from '../../helpers/platformRequests';

const SECRET = 'generic-fixture-secret-0only';
const BODY = fixtureBytes('generic', 'trade-paid.json');
const T = 1_800_000_000;
const NOW = T * 1000;

/*
 * Vectors computed independently of the code, over the fixture's exact bytes (F=test/fixtures/platforms/generic/trade-paid.json):
 *   openssl dgst -sha256 -hmac 'generic-fixture-secret-0only' < $F | sed 's/^.* //'
 *   { printf '%s.' 1800000000; cat $F; } | openssl dgst -sha512 -hmac 'generic-fixture-secret-0only' -binary | base64 -w0
 *   { printf '%s:' 1800000000; cat $F; } | openssl dgst -sha1 -hmac 'generic-fixture-secret-0only' | sed 's/^.* //'
 */
const HEX_SHA256_BODY = 'e39d4c55841d740a7f65fc0e973e7c8e0ad339f60a651fad41c18db6c541d3af';
const B64_SHA512_TS_DOT = 'PpFrLPoctIfHqDS7CyEEt8xamtrYSHjiHs4KoR1/LP6QbuQKx1TN0uE6u6OSAzGENYyvfMxME4Va0nOxI12/pQ==';
const HEX_SHA1_TS_COLON = 'c9f680f67d57dfce14eaabcb9256a11e6830fe2f';

/** The docs/webhook.md field mapping example. */
const MAPPED: WebhookSettings = {
	platform: 'generic',
	secret: SECRET,
	mapping: { event: 'type', orderId: 'data.tid', items: 'data.orders', 'items.sku': 'outer_sku', 'items.quantity': 'num', 'buyer.email': 'data.buyer_email' },
	eventValues: { TRADE_PAID: 'order.paid', TRADE_CLOSED: 'ignore' },
};
const GITHUB_STYLE = { ...MAPPED, platformOptions: { header: 'X-Hub-Signature-256', prefix: 'sha256=' } };
const TIMESTAMPED = {
	...MAPPED,
	platformOptions: { header: 'X-Signature', algorithm: 'sha512', encoding: 'base64', signedText: '{timestamp}.{body}', timestampHeader: 'X-Timestamp' },
};

const EXPECTED = {
	event: 'order.paid', orderId: '2840188394502391201', shop: null, amount: null, currency: null, paidAt: null,
	buyer: { id: null, name: null, email: 'b@example.com', ip: null },
	items: [{ sku: 'STEAM-50', name: null, quantity: 2, price: null }],
};

describe('Generic HMAC: the seller’s scheme over the raw body', () => {
	it('the test HMACs agree with the openssl vectors', () => {
		expect(hmacOf('sha256', SECRET, [BODY], 'hex')).toBe(HEX_SHA256_BODY);
		expect(hmacOf('sha512', SECRET, [String(T), '.', BODY], 'base64')).toBe(B64_SHA512_TS_DOT);
		expect(hmacOf('sha1', SECRET, [String(T), ':', BODY], 'hex')).toBe(HEX_SHA1_TS_COLON);
	});

	it('sha256 hex with a prefix (GitHub style) → the mapped order, 19-digit id exact', () => {
		const d = expectAction(decide(post(BODY, { 'X-Hub-Signature-256': `sha256=${HEX_SHA256_BODY}` }), GITHUB_STYLE), 'accept');
		expect(d.order).toEqual(EXPECTED);
		expectAction(decide(post(BODY, { 'x-hub-signature-256': `SHA256=${HEX_SHA256_BODY.toUpperCase()}` }), GITHUB_STYLE), 'accept');
	});

	it('sha512 base64 over "<ts>.<body>" with the timestamp checked both ways', () => {
		const req = (now: number, ts = String(T), sig = B64_SHA512_TS_DOT) => post(BODY, { 'X-Signature': sig, 'X-Timestamp': ts }, now);
		expect(expectAction(decide(req(NOW), TIMESTAMPED), 'accept').order).toEqual(EXPECTED);
		expectAction(decide(req(NOW + 300_000), TIMESTAMPED), 'accept');
		const old = expectUnauthorized(decide(req(NOW + 301_000), TIMESTAMPED), 'expired', 'x-timestamp');
		expect(old.error).toContain('301 seconds old');
		const future = expectUnauthorized(decide(req(NOW - 301_000), TIMESTAMPED), 'expired', 'x-timestamp');
		expect(future.error).toContain('301 seconds in the future');
		expectUnauthorized(decide(req(NOW, '', B64_SHA512_TS_DOT), TIMESTAMPED), 'missing_timestamp', 'x-timestamp');
		expectUnauthorized(decide(req(NOW, String(NOW)), TIMESTAMPED), 'bad_timestamp', 'x-timestamp');
		// a timestamp moved inside the window breaks the signature: the time is signed
		expectUnauthorized(decide(req(NOW, String(T + 1)), TIMESTAMPED), 'mismatch', 'x-signature');
		expectAction(decide(req(NOW + 301_000), { ...TIMESTAMPED, toleranceSeconds: 600 }), 'accept');
	});

	it('sha1 hex over "<ts>:<body>"', () => {
		const settings = { ...MAPPED, platformOptions: { algorithm: 'sha1', signedText: '{timestamp}:{body}', timestampHeader: 'X-Request-Time' } };
		expectAction(decide(post(BODY, { 'X-Signature': HEX_SHA1_TS_COLON, 'X-Request-Time': String(T) }, NOW), settings), 'accept');
	});

	it('401: wrong secret, tampered body, missing header, missing prefix or wrong encoding', () => {
		const field = 'x-hub-signature-256';
		const sig = { 'X-Hub-Signature-256': `sha256=${HEX_SHA256_BODY}` };
		expectUnauthorized(decide(post(BODY, sig), { ...GITHUB_STYLE, secret: 'generic-other-secret' }), 'mismatch', field);
		const tampered = edited(BODY, '"num":2', '"num":3');
		expectUnauthorized(decide(post(tampered, sig), GITHUB_STYLE), 'mismatch', field);
		expectUnauthorized(decide(post(BODY, {}), GITHUB_STYLE), 'missing_signature', field);
		expectUnauthorized(decide(post(BODY, { 'X-Hub-Signature-256': HEX_SHA256_BODY }), GITHUB_STYLE), 'bad_format', field);
		const b64 = Buffer.from(HEX_SHA256_BODY, 'hex').toString('base64');
		const body = expectUnauthorized(decide(post(BODY, { 'X-Hub-Signature-256': `sha256=${b64}` }), GITHUB_STYLE), 'bad_format', field);
		expect(body.error).toBe('The X-Hub-Signature-256 header is not "sha256=" followed by a hex HMAC-SHA256 digest.');
	});

	it('the rest is the canonical path: Event Mapping "ignore", the event filter, the order’s own shop', () => {
		const closed = edited(BODY, 'TRADE_PAID', 'TRADE_CLOSED');
		const sig = (b: Buffer) => ({ 'X-Hub-Signature-256': `sha256=${hmacOf('sha256', SECRET, [b], 'hex')}` });
		expect(expectAction(decide(post(closed, sig(closed)), GITHUB_STYLE), 'ignore', 200).body.event).toBe('TRADE_CLOSED');
		const withShop = edited(BODY, '"type":"TRADE_PAID"', '"type":"TRADE_PAID","store":"taobao:main"');
		const d = decide(post(withShop, sig(withShop)), { ...GITHUB_STYLE, shopName: 'ignored', mapping: { ...MAPPED.mapping, shop: 'store' } });
		expect(expectAction(d, 'accept').order.shop).toBe('taobao:main');
		expectAction(decide(post(BODY, sig(BODY)), { ...GITHUB_STYLE, events: 'order.refunded' }), 'ignore', 200);
	});
});

describe('Generic HMAC: options are checked with the settings', () => {
	it.each([
		[{ signedText: '{timestamp}.{body}' }, 'platformOptions.timestampHeader'],
		[{ algorithm: 'md5' }, 'platformOptions.algorithm'],
		[{ encoding: 'base32' }, 'platformOptions.encoding'],
		[{ signedText: '{body}.{timestamp}' }, 'platformOptions.signedText'],
		[{ header: 'X Signature' }, 'platformOptions.header'],
		[{ timestampHeader: 'X:Time' }, 'platformOptions.timestampHeader'],
		[{ prefix: 'sha 256=' }, 'platformOptions.prefix'],
	])('%j → WebhookConfigError(%s)', (platformOptions, setting) => {
		let error: unknown;
		try {
			decide(post(BODY, {}), { ...MAPPED, platformOptions });
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(WebhookConfigError);
		expect((error as WebhookConfigError).setting).toBe(setting);
	});
});
