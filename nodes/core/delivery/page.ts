/**
 * The delivery page (DESIGN §7 "Delivery links"): a small, mobile-friendly HTML page in the
 * buyer's language (中文 / English by Accept-Language) showing what an order received — product,
 * order id, the keys with a copy button, the product's usage guide and after-sale note — or, while
 * the order is not delivered yet, that it is being processed (the page refreshes itself).
 *
 * Refunded lines never show their keys. Invalid, expired and over-limit requests get a 4xx page
 * that names nothing. Every answer is `Cache-Control: no-store`, `noindex`, with a strict CSP (no
 * source but this page's own nonce'd style and script) and no referrer. The CSP is a `<meta>` tag:
 * n8n (2.x) drops a Content-Security-Policy header set by Respond to Webhook and sends its own
 * `sandbox` policy for HTML answers instead; the browser enforces both. Framing is refused by
 * X-Frame-Options (frame-ancestors does not work in a meta tag).
 */
import { randomBytes } from 'crypto';

import type { PageView } from '../store/page';
import { escapeHtml } from './template';

export type PageLanguage = 'zh' | 'en';
export type PageState = 'delivered' | 'partial' | 'pending' | 'refunded' | 'rejected' | 'invalid' | 'expired' | 'rate_limited';

export interface PageAnswer {
	statusCode: number;
	state: PageState;
	headers: Record<string, string>;
	/** The page. For delivered lines it holds their keys: serve it, never store or log it. */
	html: string;
}

export interface PageOptions {
	language: PageLanguage;
	/** Seconds between refreshes while something is pending (default 30). */
	refreshSeconds?: number;
	/** Shown under the title, e.g. the shop's name. */
	shopName?: string | null;
	/** Where to turn when something is wrong (shown on every delivered page). */
	contact?: string | null;
}

/** The buyer's language from Accept-Language (q-values honoured); `fallback` when it names neither. */
export function pickLanguage(acceptLanguage: unknown, fallback: PageLanguage = 'zh'): PageLanguage {
	if (typeof acceptLanguage !== 'string' || acceptLanguage.trim() === '') return fallback;
	const ranked = acceptLanguage
		.split(',')
		.map((part, i) => {
			const [tag, ...params] = part.trim().toLowerCase().split(';');
			const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
			const weight = q ? Number(q.slice(2)) : 1;
			return { tag: tag.trim(), weight: Number.isFinite(weight) ? weight : 0, i };
		})
		.filter((x) => x.weight > 0)
		.sort((a, b) => b.weight - a.weight || a.i - b.i);
	for (const { tag } of ranked) {
		if (tag === 'zh' || tag.startsWith('zh-')) return 'zh';
		if (tag === 'en' || tag.startsWith('en-')) return 'en';
	}
	return fallback;
}

const T = {
	zh: {
		title: '订单提货',
		order: '订单号',
		quantity: '数量',
		copy: '复制',
		copied: '已复制',
		copyAll: '全部复制',
		keep: '请妥善保管以上内容，切勿泄露给他人。',
		usage: '使用说明',
		afterSale: '售后说明',
		wrong: '遇到问题？',
		wrongDefault: '请在店铺聊天中联系卖家，并提供订单号。',
		refunded: '此商品已退款，内容已失效。',
		refundedOrder: '此订单已退款。',
		review: '订单正在审核中，审核通过后将自动发货。',
		rejected: '此订单无法自动完成，请联系卖家。',
		preparing: (within: string | null) => (within ? `正在备货，预计 ${within} 内发货。` : '正在备货，到货后将自动发货。'),
		processing: '正在处理您的订单，请稍候……',
		refreshing: (s: number) => `本页面每 ${s} 秒自动刷新。`,
		invalid: '链接无效',
		invalidText: '此提货链接无效。请使用卖家发送给您的完整链接。',
		expired: '链接已过期',
		expiredText: '此提货链接已过期。请联系卖家获取新的链接。',
		limited: '访问过于频繁',
		limitedText: '请稍后再试。',
	},
	en: {
		title: 'Your order',
		order: 'Order ID',
		quantity: 'Quantity',
		copy: 'Copy',
		copied: 'Copied',
		copyAll: 'Copy all',
		keep: 'Keep this content safe and do not share it with anyone.',
		usage: 'How to use',
		afterSale: 'After-sale',
		wrong: 'Something wrong?',
		wrongDefault: 'Contact the seller in the shop chat and give your order ID.',
		refunded: 'This item was refunded; its content is no longer valid.',
		refundedOrder: 'This order was refunded.',
		review: 'Your order is being reviewed; it is delivered automatically once approved.',
		rejected: 'This order could not be completed automatically. Please contact the seller.',
		preparing: (within: string | null) => (within ? `We are preparing your order; expected within ${within}.` : 'We are preparing your order; it is delivered automatically when stock arrives.'),
		processing: 'We are processing your order, please wait…',
		refreshing: (s: number) => `This page refreshes itself every ${s} seconds.`,
		invalid: 'Invalid link',
		invalidText: 'This delivery link is not valid. Use the complete link the seller sent you.',
		expired: 'Link expired',
		expiredText: 'This delivery link has expired. Ask the seller for a new one.',
		limited: 'Too many requests',
		limitedText: 'Please try again in a moment.',
	},
} as const;

/** The page's Content-Security-Policy (a meta tag: see the file comment). */
export function pageCsp(nonce: string): string {
	return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; base-uri 'none'; form-action 'none'`;
}

function securityHeaders(): Record<string, string> {
	return {
		'content-type': 'text/html; charset=utf-8',
		'cache-control': 'no-store',
		'x-robots-tag': 'noindex, nofollow',
		'referrer-policy': 'no-referrer',
		'x-content-type-options': 'nosniff',
		'x-frame-options': 'DENY',
	};
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;background:#f4f5f7;color:#1f2328;font:16px/1.6 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:640px;margin:0 auto;padding:16px}h1{font-size:22px;margin:8px 0 4px}.sub{color:#57606a;font-size:14px;margin:0 0 16px}
section{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:14px 16px;margin:0 0 14px}h2{font-size:18px;margin:0 0 6px}
.meta{color:#57606a;font-size:14px;margin:0 0 10px}.key{display:flex;gap:8px;align-items:stretch;margin:8px 0}
.key code{flex:1;min-width:0;font:15px/1.5 Consolas,Menlo,monospace;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 10px;word-break:break-all;white-space:pre-wrap}
button{font:inherit;font-size:15px;border:0;border-radius:6px;background:#1f6feb;color:#fff;padding:8px 14px;flex:0 0 88px;min-width:88px;cursor:pointer}button.all{background:#2da44e;margin-top:4px}
.note{white-space:pre-wrap;background:#fffbea;border:1px solid #f0d98c;border-radius:6px;padding:8px 10px;font-size:14px}
h3{font-size:16px;margin:12px 0 6px}section>h3:first-child{margin-top:0}.warn{color:#9a6700;font-size:14px}.muted{color:#57606a;font-size:14px}.status{font-weight:600}.refunded{color:#cf222e}`;

const SCRIPT = `
function adCopy(text, done){
  function fallback(){var a=document.createElement('textarea');a.value=text;a.setAttribute('readonly','');a.style.position='fixed';a.style.opacity='0';document.body.appendChild(a);a.select();try{document.execCommand('copy');}catch(e){}document.body.removeChild(a);done();}
  if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(text).then(done,fallback);}else{fallback();}
}
document.querySelectorAll('button[data-copy]').forEach(function(b){
  b.addEventListener('click',function(){
    var ids=b.getAttribute('data-copy').split(' ');
    var text=ids.map(function(id){return document.getElementById(id).textContent;}).join('\\n');
    adCopy(text,function(){b.textContent=b.getAttribute('data-done');});
  });
});`;

function page(lang: PageLanguage, nonce: string, title: string, body: string, refreshSeconds: number | null): string {
	return [
		'<!DOCTYPE html>',
		`<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">`,
		`<meta http-equiv="Content-Security-Policy" content="${pageCsp(nonce)}">`,
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		'<meta name="robots" content="noindex, nofollow">',
		'<meta name="referrer" content="no-referrer">',
		refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '',
		`<title>${escapeHtml(title)}</title><style nonce="${nonce}">${STYLE}</style></head>`,
		`<body><main>${body}</main><script nonce="${nonce}">${SCRIPT}</script></body></html>`,
	].join('');
}

const text = (s: string) => escapeHtml(s).replace(/\r?\n/g, '<br>');

/** The 4xx answer for a link we did not issue, an expired one, or too many views. Names nothing. */
export function errorPage(reason: 'malformed' | 'forged' | 'expired' | 'rate_limited', language: PageLanguage, retryAfterSeconds = 60): PageAnswer {
	const t = T[language];
	const nonce = randomBytes(16).toString('base64');
	const [statusCode, state, title, message]: [number, PageState, string, string] =
		reason === 'expired' ? [410, 'expired', t.expired, t.expiredText] : reason === 'rate_limited' ? [429, 'rate_limited', t.limited, t.limitedText] : [403, 'invalid', t.invalid, t.invalidText];
	const headers = securityHeaders();
	if (reason === 'rate_limited') headers['retry-after'] = String(retryAfterSeconds);
	return { statusCode, state, headers, html: page(language, nonce, title, `<h1>${escapeHtml(title)}</h1><section><p>${escapeHtml(message)}</p></section>`, null) };
}

/** The page of an order as viewed (store.viewOrder). */
export function deliveryPage(orderId: string, view: PageView, opts: PageOptions): PageAnswer {
	if (view.limited) return errorPage('rate_limited', opts.language, view.retryAfterSeconds);
	const t = T[opts.language];
	const nonce = randomBytes(16).toString('base64');
	const refresh = Math.max(5, Math.floor(opts.refreshSeconds ?? 30));
	const parts: string[] = [];
	let delivered = 0;
	let refunded = 0;
	let pending = 0;
	let rejected = 0;
	let keyNo = 0;
	for (const line of view.lines) {
		const d = line.delivery;
		const head = `<h2>${escapeHtml(line.productName)}</h2><p class="meta">${escapeHtml(t.quantity)}: ${d.quantity}</p>`;
		if (d.status === 'revoked') {
			refunded++;
			parts.push(`<section data-line="refunded">${head}<p class="status refunded">${escapeHtml(t.refunded)}</p></section>`);
			continue;
		}
		delivered++;
		const ids: string[] = [];
		const keys = d.keys.map((k) => {
			const id = `k${++keyNo}`;
			ids.push(id);
			return `<div class="key"><code id="${id}">${escapeHtml(k.key ?? '')}</code><button type="button" data-copy="${id}" data-done="${escapeHtml(t.copied)}">${escapeHtml(t.copy)}</button></div>`;
		});
		const all = ids.length > 1 ? `<button type="button" class="all" data-copy="${ids.join(' ')}" data-done="${escapeHtml(t.copied)}">${escapeHtml(t.copyAll)}</button>` : '';
		const usage = line.settings.usageGuide ? `<h3>${escapeHtml(t.usage)}</h3><div class="note">${text(line.settings.usageGuide)}</div>` : '';
		const after = line.settings.afterSaleNote ? `<h3>${escapeHtml(t.afterSale)}</h3><div class="note">${text(line.settings.afterSaleNote)}</div>` : '';
		parts.push(`<section data-line="delivered">${head}${keys.join('')}${all}<p class="warn">${escapeHtml(t.keep)}</p>${usage}${after}</section>`);
	}
	for (const w of view.waiting) {
		pending++;
		const msg = w.reason === 'review' ? t.review : t.preparing(w.settings.expectedWithin);
		parts.push(`<section data-line="pending"><h2>${escapeHtml(w.productName)}</h2><p class="meta">${escapeHtml(t.quantity)}: ${w.quantity}</p><p class="status">${escapeHtml(msg)}</p></section>`);
	}
	for (const h of view.held) {
		if (h.decision === 'reject') rejected++;
		else pending++;
		parts.push(`<section data-line="${h.decision === 'reject' ? 'rejected' : 'pending'}"><p class="status">${escapeHtml(h.decision === 'reject' ? t.rejected : t.review)}</p></section>`);
	}
	if (view.refundedOrder && view.lines.length === 0) {
		parts.push(`<section data-line="refunded"><p class="status refunded">${escapeHtml(t.refundedOrder)}</p></section>`);
		refunded++;
	}
	if (parts.length === 0) {
		pending++;
		parts.push(`<section data-line="pending"><p class="status">${escapeHtml(t.processing)}</p></section>`);
	}
	const state: PageState = pending > 0 ? (delivered > 0 ? 'partial' : 'pending') : delivered > 0 ? (refunded > 0 || rejected > 0 ? 'partial' : 'delivered') : rejected > 0 ? 'rejected' : 'refunded';
	const contact = opts.contact && opts.contact.trim() ? opts.contact : t.wrongDefault;
	const body = [
		`<h1>${escapeHtml(t.title)}</h1>`,
		`<p class="sub">${opts.shopName ? `${escapeHtml(opts.shopName)} · ` : ''}${escapeHtml(t.order)}: <span id="order-id">${escapeHtml(orderId)}</span></p>`,
		...parts,
		pending > 0 ? `<p class="muted">${escapeHtml(t.refreshing(refresh))}</p>` : '',
		`<section><h3>${escapeHtml(t.wrong)}</h3><p class="muted">${text(contact)}</p></section>`,
	].join('');
	return { statusCode: 200, state, headers: securityHeaders(), html: page(opts.language, nonce, t.title, body, pending > 0 ? refresh : null) };
}
