/**
 * The delay notice's rules without peers (nodes/core/delivery/delay.ts): the defaults fill what the
 * seller left empty, a delay template may never carry the keys, the bilingual default renders the
 * order, product and expected time. Sending, once per order, is tested against real databases and
 * a real SMTP server in test/integration/waiting.test.ts and delayNodes.test.ts.
 */
import { ValidationError } from '../../nodes/core/errors';
import {
	DEFAULT_DELAY_WEBHOOK_BODY,
	DELAY_TEMPLATES,
	prepareDelayChannel,
	renderTemplate,
	variablesIn,
	type EmailChannel,
	type WebhookChannel,
} from '../../nodes/core/delivery';

const smtp = { host: 'smtp.example.com', port: 25, security: 'none' as const, from: 'My Shop <shop@example.com>' };
const email = (over: Partial<EmailChannel> = {}): EmailChannel => ({ kind: 'email', smtp, ...over });
const hook = (over: Partial<WebhookChannel> = {}): WebhookChannel => ({ kind: 'webhook', url: 'https://im.example.com/send', ...over });

describe('delay notice templates', () => {
	it('the defaults fill an empty subject and bodies, and never carry the delivery content', () => {
		const p = prepareDelayChannel(email({ subject: '', text: '', html: null }));
		expect(p).toMatchObject({ kind: 'email', subject: DELAY_TEMPLATES.subject, text: DELAY_TEMPLATES.text, html: DELAY_TEMPLATES.html });
		expect(prepareDelayChannel(email({ text: 'Hi {buyerName}', html: null }))).toMatchObject({ text: 'Hi {buyerName}', html: null });
		expect(prepareDelayChannel(hook({ body: ' ' }))).toMatchObject({ kind: 'webhook', body: DEFAULT_DELAY_WEBHOOK_BODY });
		for (const t of [DELAY_TEMPLATES.subject, DELAY_TEMPLATES.text, DELAY_TEMPLATES.html, DEFAULT_DELAY_WEBHOOK_BODY]) {
			expect(variablesIn(t)).not.toContain('deliveryContent');
			expect(variablesIn(t)).toContain('orderId');
		}
		expect(variablesIn(DELAY_TEMPLATES.text)).toEqual(expect.arrayContaining(['expectedWithin', 'productName', 'quantity']));
	});

	it('refuses a template that would carry the keys, naming the field, in English or 中文, in any channel', () => {
		const field = (fn: () => unknown) => {
			try {
				fn();
			} catch (err) {
				expect(err).toBeInstanceOf(ValidationError);
				return `${(err as ValidationError).field}: ${(err as Error).message}`;
			}
			throw new Error('expected a ValidationError');
		};
		expect(field(() => prepareDelayChannel(email({ subject: 'Key {deliveryContent}' })))).toMatch(/^subject: .*never carries the keys/);
		expect(field(() => prepareDelayChannel(email({ text: 'x', html: '<p>{ 发货内容 }</p>' })))).toMatch(/^html: /);
		expect(field(() => prepareDelayChannel(email({ text: '{DeliveryContent}', html: null })))).toMatch(/^text: /);
		expect(field(() => prepareDelayChannel(hook({ body: '{"k": "{deliveryContent}"}' })))).toMatch(/^body: /);
		// the channel's own checks still apply
		expect(field(() => prepareDelayChannel(email({ to: 'nobody' })))).toMatch(/^to: /);
		expect(field(() => prepareDelayChannel(hook({ url: 'ftp://x' })))).toMatch(/^url: /);
	});

	it('the bilingual default renders the order, product, quantity and expected time', () => {
		const ctx = { productName: 'Steam 50', deliveryContent: [], orderId: 'T1', quantity: 2, date: '2026-11-23T10:00:00Z', expectedWithin: '2 小时 / 2 hours' };
		const text = renderTemplate(DELAY_TEMPLATES.text, ctx);
		expect(text).toContain('我们正在处理您的订单，预计 2 小时 / 2 hours 内发货');
		expect(text).toContain('We are processing your order, expected within 2 小时 / 2 hours');
		expect(text).toContain('订单号 / Order ID: T1');
		expect(text).toContain('商品 / Product: Steam 50');
		expect(renderTemplate(DELAY_TEMPLATES.subject, ctx)).toBe('【Steam 50】订单处理中 / Your order T1 is being processed');
		const body = JSON.parse(renderTemplate(DEFAULT_DELAY_WEBHOOK_BODY, { ...ctx, productName: 'A "quoted" \\ name' }, { json: true }));
		expect(body).toMatchObject({ orderId: 'T1', productName: 'A "quoted" \\ name', quantity: 2, expectedWithin: '2 小时 / 2 hours' });
		expect(renderTemplate(DELAY_TEMPLATES.html, { ...ctx, productName: '<b>x</b>' }, { html: true })).toContain('&lt;b&gt;x&lt;/b&gt;');
	});
});
