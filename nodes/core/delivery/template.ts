/**
 * Delivery message templates — DESIGN §6 "Template variables".
 *
 * `{productName}` `{商品名称}`, `{deliveryContent}` `{发货内容}`, `{orderId}` `{订单号}`,
 * `{buyerName}` `{买家昵称}`, `{quantity}` `{数量}`, `{date}` `{购买日期}`, and for the buyer's side
 * `{deliveryLink}` `{提货链接}`, `{usageGuide}` `{使用说明}`, `{afterSaleNote}` `{售后说明}`,
 * `{recommended}` `{推荐商品}`, `{expectedWithin}` `{预计时间}`, `{reviewUrl}` `{评价链接}`.
 *
 * Rendering is a single pass over the template: values are inserted verbatim (escaped in HTML
 * mode) and are never scanned for placeholders again, so a buyer name or a key that contains
 * `{orderId}` stays literal. Unknown placeholders are left untouched; `findUnknownVariables`
 * lists them so a node can warn the seller.
 */
import { maskKey } from '../secrets';
import type { Product } from '../store/types';
import { ValidationError } from '../errors';

export interface TemplateContext {
	productName: string;
	/** One key / fixed content, or several (one per claimed key). */
	deliveryContent: string | string[];
	orderId: string;
	buyerName?: string | null;
	quantity: number;
	date: Date | string;
	/** The signed delivery-page link of the order (nodes/core/delivery/link.ts); never holds a key. */
	deliveryLink?: string | null;
	/** The product's settings (nodes/core/store/productSettings.ts). */
	usageGuide?: string | null;
	afterSaleNote?: string | null;
	/** One entry per line. */
	recommended?: string[] | null;
	expectedWithin?: string | null;
	reviewUrl?: string | null;
}

export interface RenderOptions {
	/** Escape values for HTML and join several delivery contents with `<br>`. Default false. */
	html?: boolean;
	/**
	 * JSON body mode (webhooks): the result stays valid JSON whatever the values contain. A
	 * placeholder inside a JSON string literal (`"text": "Hi {buyerName}"`) gets the value escaped
	 * for a string (`"` `\` and control characters); a placeholder outside quotes
	 * (`"quantity": {quantity}`) becomes a whole JSON value: a number for `{quantity}`, a quoted
	 * string otherwise. Several delivery contents are joined with a newline. Wins over `html`.
	 */
	json?: boolean;
	/** Locale whose digits `{date}` uses (the shape is always `YYYY-MM-DD HH:mm`). Default 'en-US'. */
	locale?: string;
	/** IANA time zone for `{date}`. Default 'Asia/Shanghai'. */
	timeZone?: string;
}

export interface PreviewOptions extends RenderOptions {
	/** Real data to preview with; its delivery content is masked. Missing fields use sample data. */
	context?: Partial<TemplateContext>;
}

type VariableName = keyof TemplateContext;

/** The template variables a product's buyer-facing settings fill (nodes/core/store/productSettings.ts). */
export function productTemplateFields(product: Pick<Product, 'settings'> | null): Pick<TemplateContext, 'usageGuide' | 'afterSaleNote' | 'recommended' | 'expectedWithin' | 'reviewUrl'> {
	const s = product?.settings;
	return {
		usageGuide: s?.usageGuide ?? null,
		afterSaleNote: s?.afterSaleNote ?? null,
		recommended: s?.recommended ?? [],
		expectedWithin: s?.expectedWithin ?? null,
		reviewUrl: s?.reviewUrl ?? null,
	};
}

/** Canonical (English) names and their Chinese aliases. */
export const TEMPLATE_VARIABLES: ReadonlyArray<{ name: VariableName; alias: string }> = [
	{ name: 'productName', alias: '商品名称' },
	{ name: 'deliveryContent', alias: '发货内容' },
	{ name: 'orderId', alias: '订单号' },
	{ name: 'buyerName', alias: '买家昵称' },
	{ name: 'quantity', alias: '数量' },
	{ name: 'date', alias: '购买日期' },
	{ name: 'deliveryLink', alias: '提货链接' },
	{ name: 'usageGuide', alias: '使用说明' },
	{ name: 'afterSaleNote', alias: '售后说明' },
	{ name: 'recommended', alias: '推荐商品' },
	{ name: 'expectedWithin', alias: '预计时间' },
	{ name: 'reviewUrl', alias: '评价链接' },
];

const LOOKUP = new Map<string, VariableName>();
for (const v of TEMPLATE_VARIABLES) {
	LOOKUP.set(v.name.toLowerCase(), v.name);
	LOOKUP.set(v.alias, v.name);
}

/**
 * `{name}` or `{ name }`. Names are identifier-like (letters of any script, digits, `_ . $ -`),
 * so CSS rules or JSON in an HTML body (`{color:red}`, `{"a":1}`) are not taken for variables.
 */
const PLACEHOLDER = /\{[ \t]*([\p{L}\p{N}_.$-]+)[ \t]*\}/gu;

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

function resolve(raw: string): VariableName | undefined {
	return LOOKUP.get(raw) ?? LOOKUP.get(raw.toLowerCase());
}

/** Names of placeholders in `template` that are not template variables (unique, in order). */
export function findUnknownVariables(template: string): string[] {
	const unknown: string[] = [];
	for (const m of template.matchAll(PLACEHOLDER)) {
		const name = m[1];
		if (resolve(name) === undefined && !unknown.includes(name)) unknown.push(name);
	}
	return unknown;
}

/** The template variables `template` uses (canonical names, unique, in order). */
export function variablesIn(template: string): VariableName[] {
	const out: VariableName[] = [];
	for (const m of template.matchAll(PLACEHOLDER)) {
		const name = resolve(m[1]);
		if (name !== undefined && !out.includes(name)) out.push(name);
	}
	return out;
}

export function escapeHtml(value: string): string {
	return value
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');
}

/** `YYYY-MM-DD HH:mm` in `timeZone`. A string that is not a date is returned as it is. */
export function formatDate(date: Date | string, timeZone = DEFAULT_TIME_ZONE, locale = 'en-US'): string {
	const d = date instanceof Date ? date : new Date(date);
	if (Number.isNaN(d.getTime())) return date instanceof Date ? '' : String(date);
	const parts: Record<string, string> = {};
	for (const p of dateFormat(timeZone, locale).formatToParts(d)) parts[p.type] = p.value;
	return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Formatters by time zone and locale: building one costs ~1 ms (ICU data), using one microseconds. */
const DATE_FORMATS = new Map<string, Intl.DateTimeFormat>();
const DATE_FORMATS_MAX = 64;

function dateFormat(timeZone: string, locale: string): Intl.DateTimeFormat {
	const key = `${timeZone}\u0000${locale}`;
	let fmt = DATE_FORMATS.get(key);
	if (fmt) return fmt;
	try {
		fmt = new Intl.DateTimeFormat(locale, {
			timeZone,
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			hourCycle: 'h23',
		});
	} catch (_e) {
		throw new ValidationError('timeZone', `Unknown time zone or locale: "${timeZone}" / "${locale}".`);
	}
	if (DATE_FORMATS.size >= DATE_FORMATS_MAX) DATE_FORMATS.clear(); // seller-typed zones: bounded
	DATE_FORMATS.set(key, fmt);
	return fmt;
}

/** The plain (unescaped) text of a variable; several delivery contents joined with `\n`. */
function plainValueOf(name: VariableName, ctx: TemplateContext, opts: RenderOptions): string {
	switch (name) {
		case 'deliveryContent':
			return (Array.isArray(ctx.deliveryContent) ? ctx.deliveryContent : [ctx.deliveryContent ?? '']).map((s) => String(s ?? '')).join('\n');
		case 'date':
			return formatDate(ctx.date, opts.timeZone ?? DEFAULT_TIME_ZONE, opts.locale ?? 'en-US');
		case 'quantity':
			return String(ctx.quantity ?? '');
		case 'buyerName':
			return ctx.buyerName ?? '';
		case 'recommended':
			return (ctx.recommended ?? []).join('\n');
		default:
			return String(ctx[name] ?? '');
	}
}

/** `value` escaped for the inside of a JSON string literal. */
export function escapeJsonString(value: string): string {
	return JSON.stringify(value).slice(1, -1);
}

/** A variable as JSON: escaped text inside a string literal, else a whole JSON value. */
function jsonValueOf(name: VariableName, ctx: TemplateContext, opts: RenderOptions, inString: boolean): string {
	const text = plainValueOf(name, ctx, opts);
	if (inString) return escapeJsonString(text);
	if (name === 'quantity' && /^-?\d+(\.\d+)?$/.test(text.trim())) return String(Number(text));
	return JSON.stringify(text);
}

/**
 * For JSON mode: tells, for increasing offsets into `template`, whether that offset lies inside a
 * JSON string literal (tracks unescaped `"`). Placeholders contain no quote or backslash, so the
 * answer for a placeholder's start holds for all of it.
 */
function stringTracker(template: string): (offset: number) => boolean {
	let pos = 0;
	let inString = false;
	return (offset: number) => {
		while (pos < offset) {
			const c = template[pos];
			if (inString && c === '\\') pos++;
			else if (c === '"') inString = !inString;
			pos++;
		}
		return inString;
	};
}

function valueOf(name: VariableName, ctx: TemplateContext, opts: RenderOptions): string {
	const html = opts.html === true;
	const esc = (s: string) => (html ? escapeHtml(s) : s);
	switch (name) {
		case 'deliveryContent': {
			const items = Array.isArray(ctx.deliveryContent)
				? ctx.deliveryContent
				: [ctx.deliveryContent ?? ''];
			if (!html) return items.map((s) => String(s ?? '')).join('\n');
			// In HTML a line break inside one content would collapse; keep it visible.
			return items.map((s) => escapeHtml(String(s ?? '')).replace(/\r?\n/g, '<br>')).join('<br>');
		}
		case 'date':
			return esc(formatDate(ctx.date, opts.timeZone ?? DEFAULT_TIME_ZONE, opts.locale ?? 'en-US'));
		case 'quantity':
			return esc(String(ctx.quantity ?? ''));
		case 'buyerName':
			return esc(ctx.buyerName ?? '');
		case 'recommended':
		case 'usageGuide':
		case 'afterSaleNote': {
			const text = plainValueOf(name, ctx, opts);
			return html ? escapeHtml(text).replace(/\r?\n/g, '<br>') : text;
		}
		default:
			return esc(String(ctx[name] ?? ''));
	}
}

/** Renders `template` in one pass; unknown placeholders are kept as written. */
export function renderTemplate(template: string, ctx: TemplateContext, opts: RenderOptions = {}): string {
	if (opts.json === true) {
		const inStringAt = stringTracker(template);
		return template.replace(PLACEHOLDER, (whole: string, raw: string, offset: number) => {
			const name = resolve(raw);
			return name === undefined ? whole : jsonValueOf(name, ctx, opts, inStringAt(offset));
		});
	}
	const cache = new Map<VariableName, string>();
	return template.replace(PLACEHOLDER, (whole: string, raw: string) => {
		const name = resolve(raw);
		if (name === undefined) return whole;
		let value = cache.get(name);
		if (value === undefined) {
			value = valueOf(name, ctx, opts);
			cache.set(name, value);
		}
		return value;
	});
}

/** Bilingual (中文 + English) delivery email that works without configuration. */
export const DEFAULT_TEMPLATES: Readonly<{ subject: string; text: string; html: string }> = {
	subject: '【{商品名称}】发货通知 / Your order {orderId}',
	text: [
		'您好，感谢您的购买！您购买的商品已发货，内容如下：',
		'Hello, thank you for your purchase! Here is your delivery:',
		'',
		'商品 / Product: {商品名称}',
		'数量 / Quantity: {数量}',
		'',
		'发货内容 / Delivery content:',
		'----------------------------------------',
		'{发货内容}',
		'----------------------------------------',
		'',
		'请妥善保管以上内容，切勿泄露给他人。',
		'Please keep this content safe and do not share it with anyone.',
		'',
		'订单号 / Order ID: {订单号}',
		'购买日期 / Date: {购买日期}',
	].join('\n'),
	html: [
		'<!DOCTYPE html>',
		'<html><head><meta charset="utf-8"><title>{商品名称}</title></head>',
		'<body style="font-family: Arial, \'Microsoft YaHei\', sans-serif; color: #222; line-height: 1.6;">',
		'<p>您好，感谢您的购买！您购买的商品已发货，内容如下：<br>',
		'Hello, thank you for your purchase! Here is your delivery:</p>',
		'<p><strong>商品 / Product:</strong> {商品名称}<br>',
		'<strong>数量 / Quantity:</strong> {数量}</p>',
		'<p><strong>发货内容 / Delivery content:</strong></p>',
		'<div style="font-family: Consolas, Menlo, monospace; font-size: 15px; background: #f5f5f5; border: 1px solid #ddd; padding: 12px; word-break: break-all;">{发货内容}</div>',
		'<p style="color: #b00;">请妥善保管以上内容，切勿泄露给他人。<br>',
		'Please keep this content safe and do not share it with anyone.</p>',
		'<p style="color: #666; font-size: 13px;">订单号 / Order ID: {订单号}<br>',
		'购买日期 / Date: {购买日期}</p>',
		'</body></html>',
	].join('\n'),
};

/** Sample data for previews; the delivery content is already masked. */
const SAMPLE: TemplateContext = {
	productName: '示例商品 / Sample product',
	deliveryContent: ['ABCD…WXYZ', 'EFGH…STUV'],
	orderId: 'SAMPLE-ORDER-0001',
	buyerName: '示例买家 / Sample buyer',
	quantity: 2,
	date: new Date(Date.UTC(2024, 0, 1, 4, 0)),
};

/**
 * Renders `template` for display in node output: with sample data, or with `opts.context`
 * whose delivery content is masked (`ABCD…WXYZ`), so no key is ever shown in full.
 */
export function previewTemplate(template: string, opts: PreviewOptions = {}): string {
	const { context, ...renderOpts } = opts;
	const ctx: TemplateContext = { ...SAMPLE };
	if (context) {
		for (const k of Object.keys(context) as VariableName[]) {
			if (k === 'deliveryContent' || context[k] === undefined) continue;
			(ctx as unknown as Record<string, unknown>)[k] = context[k];
		}
		if (context.deliveryContent !== undefined) {
			const items = Array.isArray(context.deliveryContent)
				? context.deliveryContent
				: [context.deliveryContent];
			ctx.deliveryContent = items.map((s) => maskKey(String(s ?? '')));
		}
	}
	return renderTemplate(template, ctx, renderOpts);
}
