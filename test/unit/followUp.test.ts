/**
 * Follow-ups without a database: the due rule (nodes/core/store/followUps.ts) and the follow-up
 * channel (default templates, {deliveryContent} refused, nothing sent for bad input).
 */
import { FOLLOW_UP_TEMPLATES, FOLLOW_UP_WEBHOOK_BODY, prepareFollowUpChannel, renderTemplate } from '../../nodes/core/delivery';
import { ValidationError } from '../../nodes/core/errors';
import { followUpWindow, isFollowUpDue } from '../../nodes/core/store';

const HOUR = 3_600_000;
const SENT = Date.UTC(2026, 10, 23, 10, 0);
const on = { followUpAfterHours: 24 };
const smtp = { host: '127.0.0.1', port: 2525, security: 'none' as const, from: 'Shop <shop@example.com>' };

describe('the due rule', () => {
	const d = (over: Partial<Parameters<typeof isFollowUpDue>[0]> = {}) => ({ status: 'sent' as const, sentAt: SENT, followUpAt: null, ...over });

	it('is due exactly from sent_at + N hours on', () => {
		expect(isFollowUpDue(d(), on, SENT + 24 * HOUR - 1)).toBe(false);
		expect(isFollowUpDue(d(), on, SENT + 24 * HOUR)).toBe(true);
		expect(isFollowUpDue(d(), on, SENT + 30 * HOUR)).toBe(true);
		expect(isFollowUpDue(d({ sentAt: new Date(SENT).toISOString() }), on, SENT + 24 * HOUR)).toBe(true);
		expect(isFollowUpDue(d(), { followUpAfterHours: 0.0005 }, SENT + 1800)).toBe(true);
		expect(isFollowUpDue(d(), { followUpAfterHours: 0.0005 }, SENT + 1799)).toBe(false);
	});

	it('is off without the product setting (the default)', () => {
		expect(isFollowUpDue(d(), { followUpAfterHours: null }, SENT + 1000 * HOUR)).toBe(false);
		expect(isFollowUpDue(d(), null, SENT + 1000 * HOUR)).toBe(false);
	});

	it('goes to sent and shipped deliveries only: never revoked, never one not sent yet', () => {
		expect(isFollowUpDue(d({ status: 'shipped' }), on, SENT + 25 * HOUR)).toBe(true);
		expect(isFollowUpDue(d({ status: 'revoked' }), on, SENT + 25 * HOUR)).toBe(false);
		expect(isFollowUpDue(d({ status: 'claimed', sentAt: null }), on, SENT + 25 * HOUR)).toBe(false);
		expect(isFollowUpDue(d({ sentAt: null }), on, SENT + 25 * HOUR)).toBe(false);
	});

	it('never twice: a delivery whose follow-up was taken is not due', () => {
		expect(isFollowUpDue(d({ followUpAt: SENT + 24 * HOUR }), on, SENT + 25 * HOUR)).toBe(false);
	});

	it('is not sent when more than maxLateHours overdue (default a week)', () => {
		expect(isFollowUpDue(d(), on, SENT + (24 + 168) * HOUR - 1)).toBe(true);
		expect(isFollowUpDue(d(), on, SENT + (24 + 168) * HOUR)).toBe(false);
		expect(isFollowUpDue(d(), on, SENT + 26 * HOUR, 1)).toBe(false);
		expect(isFollowUpDue(d(), on, SENT + 24.5 * HOUR, 1)).toBe(true);
	});

	it('window bounds', () => {
		expect(followUpWindow(2, 10 * HOUR, 3)).toEqual({ from: 5 * HOUR, until: 8 * HOUR });
	});
});

describe('the follow-up channel', () => {
	it('fills in the bilingual follow-up templates and always writes to the recorded buyer email', () => {
		const p = prepareFollowUpChannel({ kind: 'email', smtp, to: 'someone@example.com', subject: '' });
		if (p.kind !== 'email') throw new Error('email expected');
		expect(p.to).toBeNull();
		expect(p.subject).toBe(FOLLOW_UP_TEMPLATES.subject);
		expect(p.text).toBe(FOLLOW_UP_TEMPLATES.text);
		expect(p.html).toBe(FOLLOW_UP_TEMPLATES.html);
		const w = prepareFollowUpChannel({ kind: 'webhook', url: 'https://im.example.com/bot', body: '' });
		if (w.kind !== 'webhook') throw new Error('webhook expected');
		expect(w.body).toBe(FOLLOW_UP_WEBHOOK_BODY);
	});

	it('the default templates ask whether the key worked and show guide, note, review link and recommendations; no key', () => {
		const ctx = {
			productName: 'Steam 50',
			deliveryContent: ['SHOULD-NEVER-SHOW'],
			orderId: 'T1',
			buyerName: '小明',
			quantity: 1,
			date: new Date(SENT),
			usageGuide: 'Redeem at store.steampowered.com',
			afterSaleNote: 'Reply within 7 days',
			recommended: ['Steam 100', 'Xbox 3M'],
			reviewUrl: 'https://shop.example.com/review?o=T1&x=<1>',
		};
		const text = renderTemplate(FOLLOW_UP_TEMPLATES.text, ctx);
		for (const s of ['卡密能正常使用吗', 'Did your key work?', 'Redeem at store.steampowered.com', 'Reply within 7 days', 'Steam 100\nXbox 3M', 'https://shop.example.com/review?o=T1&x=<1>', '小明', 'T1']) {
			expect(text).toContain(s);
		}
		const html = renderTemplate(FOLLOW_UP_TEMPLATES.html, ctx, { html: true });
		expect(html).toContain('href="https://shop.example.com/review?o=T1&amp;x=&lt;1&gt;"');
		expect(html).toContain('Steam 100<br>Xbox 3M');
		const body = JSON.parse(renderTemplate(FOLLOW_UP_WEBHOOK_BODY, ctx, { json: true }));
		expect(body.reviewUrl).toBe(ctx.reviewUrl);
		for (const t of [text, html, JSON.stringify(body), renderTemplate(FOLLOW_UP_TEMPLATES.subject, ctx)]) expect(t).not.toContain('SHOULD-NEVER-SHOW');
	});

	it('refuses a template that would carry the keys, in English or 中文, naming the field', () => {
		const cases: Array<[Parameters<typeof prepareFollowUpChannel>[0], string]> = [
			[{ kind: 'email', smtp, subject: 'Your key {deliveryContent}' }, 'subject'],
			[{ kind: 'email', smtp, text: 'Key: { 发货内容 }' }, 'text'],
			[{ kind: 'email', smtp, html: '<p>{DeliveryContent}</p>' }, 'html'],
			[{ kind: 'webhook', url: 'https://im.example.com/bot', body: '{"text": "{deliveryContent}"}' }, 'body'],
		];
		for (const [channel, field] of cases) {
			let err: unknown;
			try {
				prepareFollowUpChannel(channel);
			} catch (e) {
				err = e;
			}
			expect(err).toBeInstanceOf(ValidationError);
			expect((err as ValidationError).field).toBe(field);
			expect((err as Error).message).toMatch(/never carries the keys/);
		}
	});

	it('refuses what Send refuses (unknown variables, bad URL)', () => {
		expect(() => prepareFollowUpChannel({ kind: 'email', smtp, text: 'Hi {nickname}' })).toThrow(/Unknown variable/);
		expect(() => prepareFollowUpChannel({ kind: 'webhook', url: 'ftp://x' })).toThrow(/not a valid http/);
	});
});
