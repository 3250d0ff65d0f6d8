import {
	DEFAULT_TEMPLATES,
	TemplateContext,
	escapeHtml,
	escapeJsonString,
	findUnknownVariables,
	formatDate,
	previewTemplate,
	renderTemplate,
} from '../../nodes/core/delivery';
import { ValidationError } from '../../nodes/core/errors';

// 2024-03-05 17:07 UTC = 2024-03-06 01:07 in Asia/Shanghai (UTC+8, crosses midnight).
const WHEN = new Date(Date.UTC(2024, 2, 5, 17, 7, 42));

const LICENSE = 'KX7Q-9PLM-W2ZR-T4VB';

function ctx(over: Partial<TemplateContext> = {}): TemplateContext {
	return {
		productName: 'Photoshop 2024',
		deliveryContent: LICENSE,
		orderId: 'ORD-1001',
		buyerName: 'Alice',
		quantity: 1,
		date: WHEN,
		...over,
	};
}

describe('renderTemplate', () => {
	it('replaces the English variables', () => {
		const out = renderTemplate(
			'{productName}|{deliveryContent}|{orderId}|{buyerName}|{quantity}|{date}',
			ctx(),
		);
		expect(out).toBe(`Photoshop 2024|${LICENSE}|ORD-1001|Alice|1|2024-03-06 01:07`);
	});

	it('replaces the Chinese variables', () => {
		const out = renderTemplate(
			'{商品名称}|{发货内容}|{订单号}|{买家昵称}|{数量}|{购买日期}',
			ctx({ quantity: 3 }),
		);
		expect(out).toBe(`Photoshop 2024|${LICENSE}|ORD-1001|Alice|3|2024-03-06 01:07`);
	});

	it('tolerates spaces inside the braces', () => {
		expect(renderTemplate('#{ orderId } / {  商品名称 } / {\tquantity}', ctx())).toBe(
			'#ORD-1001 / Photoshop 2024 / 1',
		);
	});

	it('renders a missing buyer name as empty', () => {
		expect(renderTemplate('[{buyerName}]', ctx({ buyerName: null }))).toBe('[]');
		expect(renderTemplate('[{买家昵称}]', ctx({ buyerName: undefined }))).toBe('[]');
	});

	it('joins several delivery contents with newlines in text mode', () => {
		const out = renderTemplate('{发货内容}', ctx({ deliveryContent: ['AAA-1', 'BBB-2', 'CCC-3'] }));
		expect(out).toBe('AAA-1\nBBB-2\nCCC-3');
	});

	it('joins several delivery contents with <br> in HTML mode', () => {
		const out = renderTemplate(
			'<div>{deliveryContent}</div>',
			ctx({ deliveryContent: ['AAA-1', 'BBB-2'] }),
			{ html: true },
		);
		expect(out).toBe('<div>AAA-1<br>BBB-2</div>');
	});

	it('HTML-escapes every value, including a key with <script> and &', () => {
		const evil = '<script>alert("x")</script>&KEY\'1';
		const out = renderTemplate(
			'<p>{productName}</p><p>{deliveryContent}</p><p>{buyerName}</p><p>{orderId}</p>',
			ctx({
				productName: 'Tom & Jerry <Pro>',
				deliveryContent: [evil, 'A&B'],
				buyerName: '"Bob" <b>',
				orderId: "O'1",
			}),
			{ html: true },
		);
		expect(out).not.toContain('<script>');
		expect(out).toBe(
			'<p>Tom &amp; Jerry &lt;Pro&gt;</p>' +
				'<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;KEY&#39;1<br>A&amp;B</p>' +
				'<p>&quot;Bob&quot; &lt;b&gt;</p>' +
				'<p>O&#39;1</p>',
		);
	});

	it('does not escape in text mode', () => {
		const out = renderTemplate('{deliveryContent}', ctx({ deliveryContent: '<script>&' }));
		expect(out).toBe('<script>&');
	});

	it('keeps line breaks of one multi-line content visible in HTML', () => {
		const out = renderTemplate('{deliveryContent}', ctx({ deliveryContent: 'user: a\r\npass: b' }), {
			html: true,
		});
		expect(out).toBe('user: a<br>pass: b');
	});

	it('is single pass: values containing placeholders are not expanded again', () => {
		const out = renderTemplate(
			'{buyerName} / {deliveryContent} / {orderId}',
			ctx({ buyerName: '{orderId}', deliveryContent: ['{商品名称}', '{ date }'] }),
		);
		expect(out).toBe('{orderId} / {商品名称}\n{ date } / ORD-1001');
	});

	it('leaves unknown placeholders as they are', () => {
		const out = renderTemplate('Hi {customer}, order {orderId} {未知} {}', ctx());
		expect(out).toBe('Hi {customer}, order ORD-1001 {未知} {}');
	});

	it('does not touch CSS or JSON braces in an HTML body', () => {
		const tpl = '<style>p { color: red } a {color:blue}</style>{"id":"{orderId}"}';
		expect(renderTemplate(tpl, ctx(), { html: true })).toBe(
			'<style>p { color: red } a {color:blue}</style>{"id":"ORD-1001"}',
		);
	});

	it('replaces every occurrence of a variable', () => {
		expect(renderTemplate('{orderId}-{订单号}-{orderId}', ctx())).toBe('ORD-1001-ORD-1001-ORD-1001');
	});
});

describe('findUnknownVariables', () => {
	it('reports unknown names once, in order, and not the known ones', () => {
		expect(
			findUnknownVariables('{orderId} {customer} {商品名称} { 未知 } {customer} {date} {sku}'),
		).toEqual(['customer', '未知', 'sku']);
	});

	it('reports nothing for the default templates', () => {
		expect(findUnknownVariables(DEFAULT_TEMPLATES.subject)).toEqual([]);
		expect(findUnknownVariables(DEFAULT_TEMPLATES.text)).toEqual([]);
		expect(findUnknownVariables(DEFAULT_TEMPLATES.html)).toEqual([]);
	});
});

describe('date formatting', () => {
	it('defaults to Asia/Shanghai', () => {
		expect(renderTemplate('{date}', ctx())).toBe('2024-03-06 01:07');
	});

	it('honours the timeZone option (UTC)', () => {
		expect(renderTemplate('{购买日期}', ctx(), { timeZone: 'UTC' })).toBe('2024-03-05 17:07');
	});

	it('uses 00 for midnight, not 24', () => {
		expect(formatDate(new Date(Date.UTC(2024, 0, 1, 16, 5)), 'Asia/Shanghai')).toBe('2024-01-02 00:05');
	});

	it('accepts an ISO string', () => {
		expect(renderTemplate('{date}', ctx({ date: '2024-12-31T23:59:00Z' }), { timeZone: 'UTC' })).toBe(
			'2024-12-31 23:59',
		);
		expect(renderTemplate('{date}', ctx({ date: '2024-12-31T23:59:00Z' }))).toBe('2025-01-01 07:59');
	});

	it('inserts a non-date string verbatim', () => {
		expect(renderTemplate('{date}', ctx({ date: 'yesterday' }))).toBe('yesterday');
	});

	it('rejects an unknown time zone with a ValidationError', () => {
		expect(() => renderTemplate('{date}', ctx(), { timeZone: 'Mars/Olympus' })).toThrow(ValidationError);
	});
});

describe('DEFAULT_TEMPLATES', () => {
	const full = ctx({ deliveryContent: ['KEY-ONE-1111', 'KEY-TWO-2222'], quantity: 2 });

	it('renders with no placeholders left', () => {
		const subject = renderTemplate(DEFAULT_TEMPLATES.subject, full);
		const text = renderTemplate(DEFAULT_TEMPLATES.text, full);
		const html = renderTemplate(DEFAULT_TEMPLATES.html, full, { html: true });
		for (const s of [subject, text, html]) {
			expect(s).not.toMatch(/\{[^{}]*\}/);
		}
		expect(subject).toBe('【Photoshop 2024】发货通知 / Your order ORD-1001');
	});

	it('lists the delivery content, the order id and the date, and asks to keep it safe', () => {
		const text = renderTemplate(DEFAULT_TEMPLATES.text, full);
		expect(text).toContain('KEY-ONE-1111\nKEY-TWO-2222');
		expect(text).toContain('ORD-1001');
		expect(text).toContain('2024-03-06 01:07');
		expect(text).toMatch(/妥善保管/);
		expect(text).toMatch(/keep this content safe/i);

		const html = renderTemplate(DEFAULT_TEMPLATES.html, full, { html: true });
		expect(html).toContain('KEY-ONE-1111<br>KEY-TWO-2222');
		expect(html).toContain('ORD-1001');
		expect(html).toContain('2024-03-06 01:07');
	});

	it('escapes values in the HTML default', () => {
		const html = renderTemplate(
			DEFAULT_TEMPLATES.html,
			ctx({ productName: '<img src=x onerror=alert(1)>', deliveryContent: '<script>&' }),
			{ html: true },
		);
		expect(html).not.toContain('<img src=x');
		expect(html).not.toContain('<script>');
		expect(html).toContain('&lt;script&gt;&amp;');
	});
});

describe('previewTemplate', () => {
	it('renders sample data with masked content', () => {
		const out = previewTemplate(DEFAULT_TEMPLATES.text);
		expect(out).not.toMatch(/\{[^{}]*\}/);
		expect(out).toMatch(/[A-Z]{4}…[A-Z]{4}/);
	});

	it('never contains the real key when given a real context', () => {
		const secretContent = ['ZXCV-BNMA-SDFG-HJKL-0001', 'QWER-TYUI-OPAS-DFGH-0002'];
		for (const html of [false, true]) {
			const out = previewTemplate('{orderId}: {deliveryContent}', {
				html,
				context: { orderId: 'ORD-9', deliveryContent: secretContent },
			});
			for (const k of secretContent) expect(out).not.toContain(k);
			expect(out).toContain('ORD-9');
			expect(out).toContain('ZXCV…0001');
			expect(out).toContain('QWER…0002');
		}
	});

	it('masks a single string content and short contents', () => {
		const long = previewTemplate('{发货内容}', { context: { deliveryContent: LICENSE } });
		expect(long).not.toContain(LICENSE);
		expect(long).toBe('KX7Q…T4VB');
		const short = previewTemplate('{发货内容}', { context: { deliveryContent: 'ab12' } });
		expect(short).not.toContain('ab12');
	});

	it('uses the given date and time zone', () => {
		expect(previewTemplate('{date}', { context: { date: WHEN }, timeZone: 'UTC' })).toBe('2024-03-05 17:07');
	});
});

describe('escapeHtml', () => {
	it('escapes & < > " \'', () => {
		expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
	});
});

describe('JSON body mode', () => {
	const nasty = ['"quoted" \\ back\\slash', 'line1\r\nline2\ttab', '</script><b>&', '\u0000\u001f ctl', '{orderId} 中文 😀'];

	it('keeps the body valid JSON whatever the values contain, and round-trips them', () => {
		const tpl = '{"text": "Hi {buyerName}, order {订单号}", "content": "{发货内容}", "product": "{productName}", "n": {quantity}, "when": "{date}"}';
		for (const v of nasty) {
			const out = renderTemplate(tpl, ctx({ buyerName: v, productName: v, orderId: v, deliveryContent: [v, 'K2'], quantity: 3 }), { json: true, timeZone: 'UTC' });
			const parsed = JSON.parse(out);
			expect(parsed).toEqual({ text: `Hi ${v}, order ${v}`, content: `${v}\nK2`, product: v, n: 3, when: '2024-03-05 17:07' });
		}
	});

	it('outside quotes a variable becomes a whole JSON value: a number for {quantity}, a string otherwise', () => {
		const out = renderTemplate('{"q": {quantity}, "o": {orderId}, "c": {deliveryContent}, "b": {买家昵称}}', ctx({ buyerName: null, deliveryContent: ['A"1', 'B'] }), { json: true });
		expect(JSON.parse(out)).toEqual({ q: 1, o: 'ORD-1001', c: 'A"1\nB', b: '' });
	});

	it('tracks escaped quotes in the template when telling inside from outside a string', () => {
		const out = renderTemplate('{"a": "say \\"{orderId}\\" now", "b": {orderId}}', ctx({ orderId: 'x"y' }), { json: true });
		expect(JSON.parse(out)).toEqual({ a: 'say "x"y" now', b: 'x"y' });
	});

	it('is single pass and leaves unknown placeholders alone', () => {
		const out = renderTemplate('{"a": "{buyerName}", "b": "{foo}"}', ctx({ buyerName: '{orderId}' }), { json: true });
		expect(JSON.parse(out)).toEqual({ a: '{orderId}', b: '{foo}' });
	});

	it('wins over html and does not HTML-escape', () => {
		expect(JSON.parse(renderTemplate('{"a": "{buyerName}"}', ctx({ buyerName: '<b>&' }), { json: true, html: true }))).toEqual({ a: '<b>&' });
	});

	it('escapeJsonString escapes what JSON needs', () => {
		expect(escapeJsonString('a"b\\c\n')).toBe('a\\"b\\\\c\\n');
	});
});
