/**
 * Notify Buyer — DESIGN §1.3/§1.4/§1.6 and §6: send a delivery's content to the buyer and record it.
 *
 * The algorithm, free of n8n:
 *   1. validate the channel (recipient addresses, templates, webhook URL/method/JSON body) — bad
 *      input changes nothing;
 *   2. look the delivery up; a revoked one is never sent; a sent one is not sent again unless this is
 *      a resend; the recipient falls back to the buyer email recorded with the delivery;
 *   3. `beginSend` takes the delivery's send lease (one sender per delivery across executions,
 *      workers and processes; a loser waits and then sees already_sent) and reveals the keys —
 *      the only place keys are decrypted for a message;
 *   4. render the templates (DESIGN §6 variables, English or 中文; HTML escaped; JSON bodies stay
 *      valid JSON) and send by SMTP (nodemailer) or HTTP webhook (callWithRetry);
 *   5. `markSent` (channel, provider message id, event) or `markSendFailed` with the error scrubbed
 *      of the keys and of the channel's secrets; the delivery then stays `claimed` (resendable).
 *
 * Nothing returned or thrown from here carries a plaintext key unless `reveal` asks for the keys.
 */
import { redactAndClip, redactSecrets } from '../secrets/crypto';
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, callWithRetry, joinUrl } from '../outbound/http';
import { DEFAULT_SEND_LEASE_MS, ORDER_WIDE_SKU, type Actor, type Delivery, type DeliveredKey, type DeliveryWithKeys, type KeyStore, orderLabel } from '../store/KeyStore';
import { MailError, mailboxOf, sendMail, splitRecipients, type SmtpConfig } from '../outbound/mailer';
import {
	DEFAULT_TEMPLATES,
	DEFAULT_TIME_ZONE,
	TEMPLATE_VARIABLES,
	escapeHtml,
	findUnknownVariables,
	formatDate,
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

export interface NotifyInput {
	deliveryId: number | string;
	/** Send again even when a send was recorded ("buyer says nothing arrived"). */
	resend?: boolean;
	channel: NotifyChannel;
	/** IANA time zone of `{date}`. Default Asia/Shanghai. */
	timeZone?: string | null;
	/** `{buyerName}` when the delivery has no buyer name recorded. */
	buyerNameFallback?: string | null;
	/** Return the plaintext keys (the seller opted in). */
	reveal?: boolean;
	actor?: Actor;
	/** How long to wait for another execution holding the send lease. Default: the lease + 5 s. */
	waitMs?: number;
}

export interface NotifyInfo {
	/** The buyer has been sent the content (now, or before: see alreadySent). */
	sent: boolean;
	/** A send was recorded before; nothing was sent now. */
	alreadySent: boolean;
	/** Sent again by Resend. */
	resent: boolean;
	channel: string | null;
	recipient: string | null;
	messageId: string | null;
	sentAt: string | null;
	sendCount: number;
	/** HTTP attempts (webhook) made now. */
	attempts?: number;
	skipped?: 'revoked';
	error?: string;
}

export interface NotifyResult {
	outcome: 'sent' | 'already_sent' | 'skipped';
	delivery: Delivery;
	/** Masked unless `reveal`. */
	keys: DeliveredKey[];
	notify: NotifyInfo;
	message?: string;
}

/** The send failed (recorded as send_failed), another execution holds the lease, or recording failed. Never carries a key. */
export class NotifyError extends StoreError {
	constructor(
		message: string,
		code: 'send_failed' | 'busy' | 'record_failed',
		readonly channel: NotifyChannelKind,
		readonly recipient: string | null,
		readonly delivery: Delivery | null,
		readonly detail: { httpStatus?: number | null; attempts?: number; mailCode?: string; transient?: boolean } = {},
	) {
		super(message, code);
		this.name = 'NotifyError';
	}
}

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

function intOption(field: string, label: string, value: unknown, dflt: number, min: number, max: number): number {
	if (value === undefined || value === null || value === '') return dflt;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
		throw new ValidationError(field, `${label} must be a whole number from ${min} to ${max}.`);
	}
	return n;
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

interface PreparedEmail {
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

interface PreparedWebhook {
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
	const timeoutMs = intOption('timeoutMs', 'Timeout (ms)', channel.timeoutMs, 10000, 1, 300000);
	const retries = intOption('retries', 'Max Retries', channel.retries, 3, 0, MAX_WEBHOOK_RETRIES);
	const backoffMs = intOption('backoffMs', 'Retry Delay (ms)', channel.backoffMs, 500, 0, 60000);
	// Worst case of callWithRetry: every attempt times out (+1 s abort guard) plus every backoff (+20 % jitter).
	const worst = (retries + 1) * (timeoutMs + 1000) + Math.ceil(backoffMs * (2 ** retries - 1) * 1.2);
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
		leaseMs: Math.max(DEFAULT_SEND_LEASE_MS, worst + 30000),
		secrets,
	};
}

// ------------------------------------------------------------------------------------- helpers

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

const withoutKeys = (d: DeliveryWithKeys | Delivery): Delivery => {
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { keys: _keys, ...rest } = d as DeliveryWithKeys;
	return rest;
};

const masked = (keys: DeliveredKey[]): DeliveredKey[] =>
	keys.map((k) => {
		// eslint-disable-next-line @typescript-eslint/no-unused-vars
		const { key: _key, ...rest } = k;
		return rest;
	});

function info(d: Delivery, over: Partial<NotifyInfo>): NotifyInfo {
	return {
		sent: d.sentAt !== null,
		alreadySent: false,
		resent: false,
		channel: d.sentChannel,
		recipient: null,
		messageId: d.sentMessageId,
		sentAt: d.sentAt,
		sendCount: d.sendCount,
		...over,
	};
}

async function keysFor(store: KeyStore, d: DeliveryWithKeys, reveal: boolean): Promise<DeliveredKey[]> {
	if (!reveal) return masked(d.keys);
	if (d.keys.every((k) => k.key !== undefined)) return d.keys;
	return (await store.getDeliveryById(d.id, true))?.keys ?? masked(d.keys);
}

/** The delivery ids to notify: one by id, or every line of an order (one SKU when given). */
export async function findTargets(
	store: KeyStore,
	ref: { deliveryId: number | string | null | undefined } | { orderId: string | null | undefined; shop?: string | null; sku?: string | null },
): Promise<number[]> {
	if ('deliveryId' in ref) {
		if (ref.deliveryId === undefined || ref.deliveryId === null || String(ref.deliveryId).trim() === '') {
			throw new ValidationError('deliveryId', 'Delivery ID is required (e.g. {{ $json.deliveryId }} from Claim Key), or find the delivery by Order ID.');
		}
		return [(await store.findDelivery({ deliveryId: typeof ref.deliveryId === 'string' ? ref.deliveryId.trim() : ref.deliveryId })).id];
	}
	if (ref.orderId === undefined || ref.orderId === null || String(ref.orderId).trim() === '') {
		throw new ValidationError('orderId', 'Order ID is required to find the delivery by order.');
	}
	const sku = ref.sku === undefined || ref.sku === null || String(ref.sku).trim() === '' ? null : String(ref.sku).trim();
	const lines = (await store.getDeliveries({ orderId: ref.orderId, shop: ref.shop, sku })).filter((d) => d.sku !== ORDER_WIDE_SKU);
	// None: let findDelivery say so (it names the shops that do have this order id).
	if (lines.length === 0) return [(await store.findDelivery({ orderId: ref.orderId, shop: ref.shop, sku })).id];
	return lines.map((d) => d.id);
}

// ------------------------------------------------------------------------------------- send

/**
 * Notifies the buyer of one delivery. Returns sent / already_sent / skipped (revoked); throws
 * ValidationError for bad input (nothing sent, nothing recorded), StoreError not_found, and
 * NotifyError when the send failed (recorded as send_failed; the delivery stays resendable) or
 * another execution holds the lease too long.
 */
export async function notifyDelivery(store: KeyStore, input: NotifyInput): Promise<NotifyResult> {
	const prepared = prepareChannel(input.channel);
	const timeZone = String(input.timeZone ?? '').trim() || DEFAULT_TIME_ZONE;
	formatDate(new Date(0), timeZone); // a ValidationError for an unknown time zone, before anything is touched
	const reveal = input.reveal === true;
	const resend = input.resend === true;

	const current = await store.findDelivery({ deliveryId: input.deliveryId });
	const id = current.id;
	if (current.status === 'revoked') return skippedRevoked(store, current, reveal, prepared.kind);
	if (!resend && current.sentAt !== null) return alreadySent(store, current, reveal);

	let recipient: string;
	if (prepared.kind === 'email') {
		const fallback = current.buyer.email;
		if (prepared.to !== null) recipient = prepared.to;
		else if (fallback && String(fallback).trim() !== '') recipient = checkRecipient('to', `The buyer email recorded with delivery ${id}`, fallback);
		else throw new ValidationError('to', `No recipient: To is empty and delivery ${id} (order ${current.orderId}) has no buyer email recorded.`);
	} else {
		recipient = prepared.recipient;
	}

	const begun = await store.beginSend(id, { resend, leaseMs: prepared.leaseMs, waitMs: input.waitMs });
	switch (begun.kind) {
		case 'revoked':
			return skippedRevoked(store, begun.delivery, reveal, prepared.kind);
		case 'already_sent':
			return alreadySent(store, begun.delivery, reveal);
		case 'busy':
			throw new NotifyError(
				`Delivery ${id} (order ${current.orderId}) is being sent by another execution that has not finished; nothing was sent by this one. Try again later.`,
				'busy',
				prepared.kind,
				recipient,
				withoutKeys(begun.delivery),
			);
	}

	const { token, delivery } = begun;
	const plainKeys = delivery.keys.map((k) => k.key ?? '').filter((k) => k !== '');
	const secrets = [...plainKeys, ...plainKeys.map(escapeHtml), ...prepared.secrets];
	const scrub = (text: string) => redactSecrets(text, secrets);

	let messageId: string | null = null;
	let attempts: number | undefined;
	try {
		let productName: string | null = null;
		try {
			productName = (await store.getProduct(delivery.sku))?.name ?? null;
		} catch {
			// a deleted product: fall back to the sku
		}
		const ctx: TemplateContext = {
			productName: productName ?? delivery.sku,
			deliveryContent: plainKeys,
			orderId: delivery.orderId,
			buyerName: delivery.buyer.name ?? (input.buyerNameFallback ? String(input.buyerNameFallback) : null),
			quantity: delivery.quantity,
			date: delivery.createdAt,
		};
		if (prepared.kind === 'email') {
			const res = await sendMail(prepared.smtp, {
				to: recipient,
				subject: renderTemplate(prepared.subject, ctx, { timeZone }).replace(/[\r\n]+/g, ' ').trim(),
				text: prepared.text === null ? undefined : renderTemplate(prepared.text, ctx, { timeZone }),
				html: prepared.html === null ? undefined : renderTemplate(prepared.html, ctx, { html: true, timeZone }),
				bcc: prepared.bcc ?? undefined,
				replyTo: prepared.replyTo ?? undefined,
			}, secrets);
			messageId = res.messageId;
		} else {
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
			attempts = res.attempts;
			const refused = refusalIn(res.data, secrets);
			if (refused) throw new HttpCallError(`The webhook answered ${res.status} but refused the message (${refused}).`, res.status, 'refused', res.attempts, null);
			if (prepared.messageIdField) messageId = readField(res.data, prepared.messageIdField);
			else for (const f of MESSAGE_ID_FIELDS) if ((messageId = readField(res.data, f)) !== null) break;
		}
	} catch (err) {
		const http = err instanceof HttpCallError ? err : null;
		const mail = err instanceof MailError ? err : null;
		const raw =
			prepared.kind === 'email'
				? `Email to ${recipient} failed: ${(err as Error)?.message ?? String(err)}`
				: `Webhook ${prepared.method} ${prepared.recipient} failed: ${(err as Error)?.message ?? String(err)}`;
		const message = scrub(raw);
		let after: Delivery | null = null;
		try {
			after = await store.markSendFailed(id, token, { channel: prepared.kind, error: message, actor: input.actor });
		} catch {
			// recording the failure failed too: the lease expires on its own
		}
		if (err instanceof ValidationError) throw new ValidationError(err.field, scrub(err.message));
		throw new NotifyError(message, 'send_failed', prepared.kind, recipient, after ?? withoutKeys(delivery), {
			httpStatus: http?.status ?? null,
			attempts: http?.attempts,
			mailCode: mail?.code,
			transient: mail?.transient,
		});
	}
	messageId = messageId === null ? null : scrub(messageId).slice(0, 255);

	let after: Delivery;
	try {
		after = await store.markSent(id, token, { channel: prepared.kind, messageId, recipient, actor: input.actor });
	} catch (err) {
		throw new NotifyError(
			scrub(
				`The ${prepared.kind === 'email' ? 'email' : 'webhook message'} to ${recipient} was sent${messageId ? ` (message id ${messageId})` : ''}, but recording the send in the key store failed: ${(err as Error)?.message ?? String(err)}. Do not resend before checking the delivery.`,
			),
			'record_failed',
			prepared.kind,
			recipient,
			withoutKeys(delivery),
		);
	}
	return {
		outcome: 'sent',
		delivery: after,
		keys: reveal ? delivery.keys : masked(delivery.keys),
		notify: info(after, { sent: true, alreadySent: false, resent: resend && delivery.sentAt !== null, channel: prepared.kind, recipient, messageId, ...(attempts !== undefined ? { attempts } : {}) }),
	};
}

async function skippedRevoked(store: KeyStore, d: DeliveryWithKeys, reveal: boolean, kind: NotifyChannelKind): Promise<NotifyResult> {
	return {
		outcome: 'skipped',
		delivery: withoutKeys(d),
		keys: await keysFor(store, d, reveal),
		notify: info(d, { sent: false, alreadySent: false, channel: kind, messageId: null, sentAt: d.sentAt, skipped: 'revoked' }),
		message: `${orderLabel(d.shop, d.orderId)} (SKU ${d.sku}) was refunded/revoked${d.revokeReason ? ` (${d.revokeReason})` : ''}: nothing is sent for it.`,
	};
}

async function alreadySent(store: KeyStore, d: DeliveryWithKeys, reveal: boolean): Promise<NotifyResult> {
	return {
		outcome: 'already_sent',
		delivery: withoutKeys(d),
		keys: await keysFor(store, d, reveal),
		notify: info(d, { sent: true, alreadySent: true }),
	};
}

/** Display strings of keys for output: plain when revealed, else masked. */
export function keyStrings(keys: DeliveredKey[]): string[] {
	return keys.map((k) => k.key ?? k.masked);
}
