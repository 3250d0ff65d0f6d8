/**
 * Notify Buyer core without peers: channel validation (bad input is refused before anything is
 * touched), recipient addresses, webhook answers. The send itself is tested against a real SMTP
 * server and a real HTTP server in test/integration/notifyBuyer.test.ts.
 */
import { ValidationError } from '../../nodes/core/errors';
import { DEFAULT_SEND_LEASE_MS } from '../../nodes/core/store';
import { isEmailAddress, mailboxOf, splitRecipients } from '../../nodes/core/outbound';
import { DEFAULT_WEBHOOK_BODY, type EmailChannel, type WebhookChannel, prepareChannel, readField, refusalIn } from '../../nodes/core/delivery';
import { DEFAULT_TEMPLATES, renderTemplate } from '../../nodes/core/delivery';

const smtp = { host: 'smtp.example.com', port: 25, security: 'none' as const, from: 'My Shop <shop@example.com>' };
const email = (over: Partial<EmailChannel> = {}): EmailChannel => ({ kind: 'email', smtp, to: 'buyer@example.com', ...over });
const hook = (over: Partial<WebhookChannel> = {}): WebhookChannel => ({ kind: 'webhook', url: 'https://im.example.com/send?access_token=TOKEN-123456', ...over });

function fieldOf(fn: () => unknown): string {
	try {
		fn();
	} catch (err) {
		expect(err).toBeInstanceOf(ValidationError);
		return `${(err as ValidationError).field}: ${(err as Error).message}`;
	}
	throw new Error('expected a ValidationError');
}

describe('email addresses', () => {
	it('accepts ordinary and internationalised addresses, with or without a display name', () => {
		for (const a of ['buyer@example.com', 'first.last+tag@sub.example.co.uk', '小明@例子.中国', 'a@xn--fiqs8s.xn--fiqz9s']) expect({ a, ok: isEmailAddress(a) }).toEqual({ a, ok: true });
		expect(mailboxOf('小明 <xm@example.com>')).toBe('xm@example.com');
		expect(mailboxOf('"Shop, Inc." <shop@example.com>')).toBe('shop@example.com');
		expect(mailboxOf('  buyer@example.com ')).toBe('buyer@example.com');
	});

	it('refuses malformed addresses and header injection', () => {
		for (const a of ['', 'buyer', 'buyer@', '@example.com', 'buyer@example', 'buy er@example.com', 'a..b@example.com', '.a@example.com', 'a@-x.com', 'a@example.c', 'a@b@example.com', `${'x'.repeat(65)}@example.com`]) {
			expect({ a, ok: isEmailAddress(a) }).toEqual({ a, ok: false });
		}
		expect(mailboxOf('buyer@example.com\r\nBcc: victim@example.com')).toBeNull();
		expect(mailboxOf('Name <not-an-email>')).toBeNull();
		expect(mailboxOf('<script>@example.com')).toBeNull();
	});

	it('splits recipient lists on commas and semicolons', () => {
		expect(splitRecipients(' a@example.com, b@example.com;;c@example.com ,')).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
		expect(splitRecipients(null)).toEqual([]);
	});
});

describe('prepareChannel: email', () => {
	it('uses the bilingual default templates when none are given, and a lease of at least the default', () => {
		const p = prepareChannel({ kind: 'email', smtp });
		expect(p).toMatchObject({ kind: 'email', to: null, subject: DEFAULT_TEMPLATES.subject, text: DEFAULT_TEMPLATES.text, html: DEFAULT_TEMPLATES.html });
		expect(p.leaseMs).toBeGreaterThanOrEqual(DEFAULT_SEND_LEASE_MS);
	});

	it('names the field of bad input', () => {
		expect(fieldOf(() => prepareChannel(email({ to: 'not-an-email' })))).toMatch(/^to: To "not-an-email" is not a valid email address/);
		expect(fieldOf(() => prepareChannel(email({ to: 'a@example.com, b@example.com' })))).toMatch(/^to: To must be one email address \(got 2 addresses\)/);
		expect(fieldOf(() => prepareChannel(email({ bcc: 'ok@example.com, nope' })))).toMatch(/^bcc: BCC: "nope"/);
		expect(fieldOf(() => prepareChannel(email({ replyTo: 'x@' })))).toMatch(/^replyTo:/);
		expect(fieldOf(() => prepareChannel(email({ text: '', html: ' ' })))).toMatch(/^text: The email needs a body/);
		expect(fieldOf(() => prepareChannel(email({ subject: 'Order {orderNo}' })))).toMatch(/^subject: Unknown variable in the Subject: \{orderNo\}/);
		expect(fieldOf(() => prepareChannel(email({ html: '<p>{buyer}</p>' })))).toMatch(/^html: .*\{buyer\}.*Known: \{productName\}/);
		expect(fieldOf(() => prepareChannel(email({ smtp: { ...smtp, host: '' } })))).toMatch(/^smtp: The SMTP host is missing/);
		expect(fieldOf(() => prepareChannel(email({ smtp: { ...smtp, from: 'shop' } })))).toMatch(/^from: The From address "shop"/);
	});

	it('keeps the SMTP password among the secrets to scrub', () => {
		expect(prepareChannel(email({ smtp: { ...smtp, user: 'u', password: 'smtp-pass-999' } })).secrets).toEqual(['smtp-pass-999']);
	});
});

describe('prepareChannel: webhook', () => {
	it('defaults: POST, JSON content type, the default body, the URL without its query as the recipient', () => {
		const p = prepareChannel(hook());
		if (p.kind !== 'webhook') throw new Error('webhook expected');
		expect(p).toMatchObject({ method: 'POST', body: DEFAULT_WEBHOOK_BODY, recipient: 'https://im.example.com/send', retries: 3, timeoutMs: 10000 });
		expect(p.headers['Content-Type']).toMatch(/application\/json/);
		expect(p.secrets).toContain('TOKEN-123456');
		expect(p.leaseMs).toBeGreaterThanOrEqual(DEFAULT_SEND_LEASE_MS);
	});

	it('the default body renders to valid JSON with every variable filled', () => {
		const out = renderTemplate(DEFAULT_WEBHOOK_BODY, { productName: 'P "1"', deliveryContent: ['K-1', 'K\\2'], orderId: 'O1', buyerName: '小明\n', quantity: 2, date: new Date(0) }, { json: true, timeZone: 'UTC' });
		expect(JSON.parse(out)).toMatchObject({ orderId: 'O1', productName: 'P "1"', buyerName: '小明\n', quantity: 2, content: 'K-1\nK\\2', date: '1970-01-01 00:00' });
		expect(JSON.parse(out).text).toContain('K-1\nK\\2');
	});

	it('the lease covers every attempt of a slow webhook', () => {
		const p = prepareChannel(hook({ timeoutMs: 60000, retries: 5, backoffMs: 1000 }));
		expect(p.leaseMs).toBeGreaterThan(6 * 61000 + 31 * 1000);
	});

	it('names the field of bad input', () => {
		expect(fieldOf(() => prepareChannel(hook({ method: 'GET' })))).toMatch(/^method: Method must be one of POST, PUT, PATCH/);
		expect(fieldOf(() => prepareChannel(hook({ url: '' })))).toMatch(/^url: URL is required/);
		expect(fieldOf(() => prepareChannel(hook({ url: 'ftp://x.example.com/a' })))).toMatch(/^url: URL "ftp:/);
		expect(fieldOf(() => prepareChannel(hook({ url: '/messages' })))).toMatch(/^url: URL "\/messages" is not a valid http\(s\) URL/);
		expect(fieldOf(() => prepareChannel(hook({ body: '{"a": {orderId}, }' })))).toMatch(/^body: The JSON Body is not valid JSON/);
		expect(fieldOf(() => prepareChannel(hook({ body: '{"a": "{order}"}' })))).toMatch(/^body: Unknown variable in the JSON Body: \{order\}/);
		expect(fieldOf(() => prepareChannel(hook({ headers: { 'Bad Header': 'x' } })))).toMatch(/^headers: Header name "Bad Header"/);
		expect(fieldOf(() => prepareChannel(hook({ headers: { 'X-A': 'a\r\nX-B: b' } })))).toMatch(/^headers: The value of header "X-A" contains a line break/);
		expect(fieldOf(() => prepareChannel(hook({ retries: 9 })))).toMatch(/^retries: Max Retries must be a whole number from 0 to 5/);
		expect(fieldOf(() => prepareChannel(hook({ timeoutMs: 0 })))).toMatch(/^timeoutMs:/);
		expect(fieldOf(() => prepareChannel(hook({ messageIdField: 'data..id' })))).toMatch(/^messageIdField:/);
	});

	it('with the shop credential: paths are relative to its base URL and credentials never go to another host', () => {
		const shop = { baseUrl: 'https://shop.example.com/api/', headers: { Authorization: 'Bearer SHOP-TOKEN-1' }, secrets: ['SHOP-TOKEN-1'] };
		const p = prepareChannel(hook({ url: '/messages', shop }));
		if (p.kind !== 'webhook') throw new Error('webhook expected');
		expect(p.url.toString()).toBe('https://shop.example.com/api/messages');
		expect(p.headers.Authorization).toBe('Bearer SHOP-TOKEN-1');
		expect(p.secrets).toContain('SHOP-TOKEN-1');
		expect(fieldOf(() => prepareChannel(hook({ url: 'https://evil.example.net/collect', shop })))).toMatch(/^url: The URL points to evil.example.net, not to the shop API/);
		expect(fieldOf(() => prepareChannel(hook({ url: '/m', shop: { baseUrl: '' } })))).toMatch(/^baseUrl:/);
	});
});

describe('webhook answers', () => {
	it('finds a message id by dotted path', () => {
		expect(readField({ data: { id: 42 } }, 'data.id')).toBe('42');
		expect(readField({ result: [{ message_id: 'm1' }] }, 'result.0.message_id')).toBe('m1');
		expect(readField({ a: { b: {} } }, 'a.b')).toBeNull();
		expect(readField('text', 'a')).toBeNull();
	});

	it('treats errcode ≠ 0 and ok: false as a refused message', () => {
		expect(refusalIn({ errcode: 0, errmsg: 'ok' })).toBeNull();
		expect(refusalIn({ errcode: 310000, errmsg: 'keywords not in content' })).toBe('errcode 310000: keywords not in content');
		expect(refusalIn({ ok: false, description: 'chat not found' })).toBe('ok: false (chat not found)');
		expect(refusalIn({ ok: true, reference: 'SHIP-1' })).toBeNull();
		expect(refusalIn(['x'])).toBeNull();
		expect(refusalIn('ok')).toBeNull();
	});
});
