/**
 * Notify Buyer's channels — DESIGN §1.6/§1.7 and §6: email (SMTP) and HTTP webhook (IM bots, SMS
 * gateways, the shop's message API).
 *
 * `prepareChannel` checks a channel before anything is touched (recipients, templates, webhook
 * URL/method/headers/JSON body; bad input changes nothing); `sendOnChannel` renders the message
 * (DESIGN §6 variables; HTML escaped; JSON bodies stay valid JSON) and sends it; `readField` and
 * `refusalIn` read a webhook's answer. notify.ts holds the use case (lease → send → record).
 */
import { redactAndClip } from '../secrets';
import { ValidationError } from '../errors';
import { HttpCallError, callWithRetry, joinUrl, mailboxOf, sendMail, splitRecipients, type SmtpConfig } from '../outbound';
import { DEFAULT_SEND_LEASE_MS } from '../store';
import { callOptions } from './callOptions';
import {
	DEFAULT_TEMPLATES,
	TEMPLATE_VARIABLES,
	findUnknownVariables,
	renderTemplate,
	type TemplateContext,
} from './template';

export type NotifyChannelKind = 'email' | 'webhook';

export interface EmailChannel {
	kind: 'email';
	smtp: SmtpConfig;
	/** One recipient (`buyer@example.com` or `Name <buyer@example.com>`); empty → the buyer email recorded with the delivery. */
	to?: string | null;
	subject?: string | null;
	/** Plain-text body template; null/empty = none. At least one of text and html. */
	text?: string | null;
	/** HTML body template (values HTML-escaped); null/empty = none. */
	html?: string | null;
	/** Comma-separated addresses. */
	bcc?: string | null;
	replyTo?: string | null;
}

export interface WebhookChannel {
	kind: 'webhook';
	/** Absolute http(s) URL; with `shop`, a path relative to the shop's base URL (or a URL on it). */
	url: string;
	/** POST (default), PUT or PATCH. */
	method?: string;
	headers?: Record<string, string>;
	/** JSON body template (values JSON-escaped: the body stays valid JSON whatever they contain). */
	body?: string | null;
	/** Dotted path of the provider message id in the JSON answer; empty = look for common names. */
	messageIdField?: string | null;
	/** Per attempt. Default 10 000 ms. */
	timeoutMs?: number;
	/** Extra attempts on 5xx, timeouts, dropped connections (never on 4xx). Default 3, at most 5. */
	retries?: number;
	/** First backoff, doubling each retry. Default 500 ms. */
	backoffMs?: number;
	ignoreSsl?: boolean;
	/** The Auto Delivery Shop API credential: base URL and authentication headers. */
	shop?: { baseUrl: string; headers?: Record<string, string>; ignoreSsl?: boolean; secrets?: string[] } | null;
}

export type NotifyChannel = EmailChannel | WebhookChannel;

export const WEBHOOK_METHODS = ['POST', 'PUT', 'PATCH'] as const;
export const MAX_WEBHOOK_RETRIES = 5;

/** Works as it is for a generic JSON endpoint; IM bots usually want their own shape (see README). */
export const DEFAULT_WEBHOOK_BODY = [
	'{',
	'  "orderId": "{orderId}",',
	'  "productName": "{productName}",',
	'  "buyerName": "{buyerName}",',
	'  "quantity": {quantity},',
	'  "date": "{date}",',
	'  "content": "{deliveryContent}",',
	'  "text": "【{商品名称}】发货通知 / Your order {订单号}\\n发货内容 / Delivery content:\\n{发货内容}"',
	'}',
].join('\n');

/** Response fields tried, in order, for the provider message id when no field is configured. */
const MESSAGE_ID_FIELDS = ['messageId', 'message_id', 'msgId', 'msgid', 'id', 'reference', 'data.messageId', 'data.message_id', 'data.id', 'result.message_id', 'result.id'];

// ------------------------------------------------------------------------------------- validation

const known = () => `${TEMPLATE_VARIABLES.map((v) => `{${v.name}}`).join(' ')} (or 中文 ${TEMPLATE_VARIABLES.map((v) => `{${v.alias}}`).join(' ')})`;

function checkVariables(field: string, label: string, template: string): void {
	const unknown = findUnknownVariables(template);
	if (unknown.length) {
		throw new ValidationError(field, `Unknown variable${unknown.length > 1 ? 's' : ''} in ${label}: ${unknown.map((u) => `{${u}}`).join(', ')}. Known: ${known()}.`);
	}
}

/** One recipient, checked; throws a ValidationError naming the field. */
export function checkRecipient(field: string, label: string, value: string): string {
	const list = splitRecipients(value);
	if (list.length !== 1) {
		throw new ValidationError(field, `${label} must be one email address (got ${list.length === 0 ? 'nothing' : `${list.length} addresses`}).`);
	}
	if (mailboxOf(list[0]) === null) throw new ValidationError(field, `${label} "${list[0].slice(0, 120)}" is not a valid email address.`);
	return list[0];
}

function checkRecipientList(field: string, label: string, value: string | null | undefined): string | null {
	const list = splitRecipients(value);
	for (const a of list) if (mailboxOf(a) === null) throw new ValidationError(field, `${label}: "${a.slice(0, 120)}" is not a valid email address.`);
	return list.length ? list.join(', ') : null;
}

/** Sample context for checking a JSON body's shape: text that needs escaping everywhere. */
const SAMPLE: TemplateContext = {
	productName: 'Sample "product" \\ 1',
	deliveryContent: ['SAMPLE-KEY-1\n"2"', 'SAMPLE\tKEY\\2'],
	orderId: 'SAMPLE-ORDER',
	buyerName: '"Sample" <buyer>\n',
	quantity: 2,
	date: new Date(0),
};

export interface PreparedEmail {
	kind: 'email';
	smtp: SmtpConfig;
	to: string | null;
	subject: string;
	text: string | null;
	html: string | null;
	bcc: string | null;
	replyTo: string | null;
	leaseMs: number;
	secrets: string[];
}

export interface PreparedWebhook {
	kind: 'webhook';
	method: string;
	url: URL;
	/** For output: origin + path, never the query (it may hold an access token). */
	recipient: string;
	headers: Record<string, string>;
	body: string;
	messageIdField: string | null;
	timeoutMs: number;
	retries: number;
	backoffMs: number;
	ignoreSsl: boolean;
	leaseMs: number;
	secrets: string[];
}

export type PreparedChannel = PreparedEmail | PreparedWebhook;

/** Validates the channel before anything is touched (bad input changes nothing). */
export function prepareChannel(channel: NotifyChannel): PreparedChannel {
	if (!channel || (channel.kind !== 'email' && channel.kind !== 'webhook')) {
		throw new ValidationError('channel', 'Channel must be Email or Webhook.');
	}
	if (channel.kind === 'email') {
		const smtp = channel.smtp;
		if (!smtp || !String(smtp.host ?? '').trim()) throw new ValidationError('smtp', 'The SMTP host is missing: set it in the Auto Delivery SMTP credential.');
		if (!String(smtp.from ?? '').trim()) throw new ValidationError('smtp', 'The From address is missing: set it in the Auto Delivery SMTP credential.');
		if (mailboxOf(String(smtp.from)) === null) throw new ValidationError('from', `The From address "${String(smtp.from).slice(0, 120)}" of the Auto Delivery SMTP credential is not a valid email address.`);
		const to = String(channel.to ?? '').trim() === '' ? null : checkRecipient('to', 'To', String(channel.to));
		const subject = String(channel.subject ?? '').trim() === '' ? DEFAULT_TEMPLATES.subject : String(channel.subject);
		const text = channel.text === undefined ? DEFAULT_TEMPLATES.text : String(channel.text ?? '').trim() === '' ? null : String(channel.text);
		const html = channel.html === undefined ? DEFAULT_TEMPLATES.html : String(channel.html ?? '').trim() === '' ? null : String(channel.html);
		if (text === null && html === null) throw new ValidationError('text', 'The email needs a body: give a Text Body, an HTML Body, or both.');
		checkVariables('subject', 'the Subject', subject);
		if (text !== null) checkVariables('text', 'the Text Body', text);
		if (html !== null) checkVariables('html', 'the HTML Body', html);
		const timeout = smtp.timeoutMs ?? 20000;
		return {
			kind: 'email',
			smtp,
			to,
			subject,
			text,
			html,
			bcc: checkRecipientList('bcc', 'BCC', channel.bcc),
			replyTo: checkRecipientList('replyTo', 'Reply-To', channel.replyTo),
			// connect + greeting + every SMTP step may each take up to the timeout
			leaseMs: Math.max(DEFAULT_SEND_LEASE_MS, timeout * 6 + 30000),
			secrets: smtp.password ? [smtp.password] : [],
		};
	}

	const method = String(channel.method ?? 'POST').trim().toUpperCase() || 'POST';
	if (!(WEBHOOK_METHODS as readonly string[]).includes(method)) {
		throw new ValidationError('method', `Method must be one of ${WEBHOOK_METHODS.join(', ')} (got "${channel.method}").`);
	}
	const rawUrl = String(channel.url ?? '').trim();
	if (rawUrl === '') throw new ValidationError('url', 'URL is required: where to send the message (an IM bot, an SMS gateway, the shop\'s message API).');
	const shop = channel.shop ?? null;
	let full: string;
	if (shop) {
		if (!String(shop.baseUrl ?? '').trim()) throw new ValidationError('baseUrl', 'No Base URL is set in the Auto Delivery Shop API credential; set it, or use an absolute URL without the credential.');
		let base: URL;
		try {
			base = new URL(shop.baseUrl.trim());
		} catch {
			throw new ValidationError('baseUrl', `The Base URL "${shop.baseUrl}" of the Auto Delivery Shop API credential is not an http(s) URL.`);
		}
		full = joinUrl(shop.baseUrl.trim(), rawUrl);
		let target: URL | null = null;
		try {
			target = new URL(full);
		} catch {
			target = null;
		}
		if (target && target.origin !== base.origin) {
			throw new ValidationError('url', `The URL points to ${target.host}, not to the shop API at ${base.host}: the shop credentials are only sent to its Base URL. Use a path (e.g. /messages).`);
		}
	} else {
		full = rawUrl;
	}
	let url: URL;
	try {
		url = new URL(full);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
	} catch {
		throw new ValidationError('url', `URL "${rawUrl.slice(0, 200)}" is not a valid http(s) URL${shop ? ' or path' : ''}.`);
	}
	const body = String(channel.body ?? '').trim() === '' ? DEFAULT_WEBHOOK_BODY : String(channel.body);
	checkVariables('body', 'the JSON Body', body);
	try {
		JSON.parse(renderTemplate(body, SAMPLE, { json: true, timeZone: 'UTC' }));
	} catch (err) {
		throw new ValidationError(
			'body',
			`The JSON Body is not valid JSON (${(err as Error).message}). Write JSON with the variables inside strings, e.g. {"text": "Order {orderId}: {deliveryContent}"}; {quantity} may also stand without quotes.`,
		);
	}
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(channel.headers ?? {})) {
		const n = String(name ?? '').trim();
		if (n === '') continue;
		if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(n)) throw new ValidationError('headers', `Header name "${n.slice(0, 60)}" is not a valid HTTP header name.`);
		const v = String(value ?? '');
		if (/[\r\n\0]/.test(v)) throw new ValidationError('headers', `The value of header "${n}" contains a line break.`);
		headers[n] = v;
	}
	Object.assign(headers, shop?.headers ?? {});
	if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json; charset=utf-8';
	let messageIdField = channel.messageIdField === undefined || channel.messageIdField === null ? null : String(channel.messageIdField).trim() || null;
	if (messageIdField !== null && messageIdField.split('.').some((s) => s === '')) {
		throw new ValidationError('messageIdField', `Message ID Field "${messageIdField}" is not a dotted path like "messageId" or "data.id".`);
	}
	messageIdField = messageIdField ?? null;
	const { timeoutMs, retries, backoffMs, leaseMs } = callOptions(channel, MAX_WEBHOOK_RETRIES, DEFAULT_SEND_LEASE_MS);
	const secrets = [
		...Object.entries(channel.headers ?? {}).filter(([n]) => !/^(content-type|accept)$/i.test(n)).map(([, v]) => String(v ?? '')),
		...(shop?.secrets ?? []),
		...[...url.searchParams.values()],
	];
	return {
		kind: 'webhook',
		method,
		url,
		recipient: `${url.origin}${url.pathname}`,
		headers,
		body,
		messageIdField,
		timeoutMs,
		retries,
		backoffMs,
		ignoreSsl: channel.ignoreSsl === true || shop?.ignoreSsl === true,
		leaseMs,
		secrets,
	};
}

// ------------------------------------------------------------------------------------- send

/** What a send reports: the provider message id as answered (not yet scrubbed) and, for a webhook, the HTTP attempts. */
export interface ChannelSent {
	messageId: string | null;
	attempts?: number;
}

/**
 * Renders the message for `recipient` and sends it over the prepared channel. `secrets` (the keys
 * and the channel's own secrets) are redacted from any error text taken from an answer. Throws
 * ValidationError, MailError or HttpCallError (also when a webhook answers 2xx but refuses).
 */
export async function sendOnChannel(prepared: PreparedChannel, recipient: string, ctx: TemplateContext, timeZone: string, secrets: string[]): Promise<ChannelSent> {
	return prepared.kind === 'email' ? sendEmail(prepared, recipient, ctx, timeZone, secrets) : sendWebhook(prepared, ctx, timeZone, secrets);
}

async function sendEmail(prepared: PreparedEmail, recipient: string, ctx: TemplateContext, timeZone: string, secrets: string[]): Promise<ChannelSent> {
	const res = await sendMail(prepared.smtp, {
		to: recipient,
		subject: renderTemplate(prepared.subject, ctx, { timeZone }).replace(/[\r\n]+/g, ' ').trim(),
		text: prepared.text === null ? undefined : renderTemplate(prepared.text, ctx, { timeZone }),
		html: prepared.html === null ? undefined : renderTemplate(prepared.html, ctx, { html: true, timeZone }),
		bcc: prepared.bcc ?? undefined,
		replyTo: prepared.replyTo ?? undefined,
	}, secrets);
	return { messageId: res.messageId };
}

async function sendWebhook(prepared: PreparedWebhook, ctx: TemplateContext, timeZone: string, secrets: string[]): Promise<ChannelSent> {
	const body = renderTemplate(prepared.body, ctx, { json: true, timeZone });
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch {
		// never echo the parser's message: it quotes the body, which holds the key
		throw new ValidationError('body', 'The JSON Body is not valid JSON once the delivery values are filled in.');
	}
	const res = await callWithRetry({
		method: prepared.method,
		url: prepared.url.toString(),
		headers: prepared.headers,
		body: parsed,
		timeoutMs: prepared.timeoutMs,
		retries: prepared.retries,
		backoffMs: prepared.backoffMs,
		ignoreSsl: prepared.ignoreSsl,
		secrets,
	});
	const refused = refusalIn(res.data, secrets);
	if (refused) throw new HttpCallError(`The webhook answered ${res.status} but refused the message (${refused}).`, res.status, 'refused', res.attempts, null);
	let messageId: string | null = null;
	if (prepared.messageIdField) messageId = readField(res.data, prepared.messageIdField);
	else for (const f of MESSAGE_ID_FIELDS) if ((messageId = readField(res.data, f)) !== null) break;
	return { messageId, attempts: res.attempts };
}

// ------------------------------------------------------------------------------------- answers

/** The value at a dotted path of a JSON answer, as text; null when absent or not a scalar. */
export function readField(data: unknown, field: string): string | null {
	let cur: unknown = data;
	for (const part of field.split('.')) {
		if (cur === null || typeof cur !== 'object') return null;
		cur = Array.isArray(cur) ? (/^\d+$/.test(part) ? cur[Number(part)] : undefined) : (cur as Record<string, unknown>)[part];
	}
	if (typeof cur === 'string') return cur.trim() === '' ? null : cur;
	if (typeof cur === 'number' || typeof cur === 'bigint') return String(cur);
	return null;
}

/**
 * IM bots (DingTalk, WeCom) answer HTTP 200 with `{"errcode": 310000, "errmsg": "…"}` when they
 * refuse a message, and some APIs answer `{"ok": false}`: that is not a send. The reason may echo
 * the message: `secrets` are redacted from all of it before it is shortened.
 */
export function refusalIn(data: unknown, secrets: Iterable<string> = []): string | null {
	if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
	const d = data as Record<string, unknown>;
	if (typeof d.errcode === 'number' && d.errcode !== 0) return `errcode ${d.errcode}${typeof d.errmsg === 'string' ? `: ${redactAndClip(d.errmsg, secrets, 200)}` : ''}`;
	if (d.ok === false) {
		const why = [d.description, d.error, d.message, d.msg].find((v) => typeof v === 'string') as string | undefined;
		return `ok: false${why ? ` (${redactAndClip(why, secrets, 200)})` : ''}`;
	}
	return null;
}
