/**
 * The delay notice (Notify Buyer → Send Delay Notice): when an order line cannot be delivered at
 * once (out of stock, held for review), the buyer is told once per order "we are processing your
 * order, expected within …" — on the channels of Send (channels.ts), with a template of its own.
 *
 * The rules, free of n8n:
 *   1. the channel and the templates are checked first (bad input changes nothing); a delay
 *      template never holds a key: `{deliveryContent}` / `{发货内容}` is refused;
 *   2. the product decides: nothing is sent unless its Delay Notice setting is on (Key Pool →
 *      Upsert Product); `{expectedWithin}` is its Expected Within (or the node's fallback);
 *   3. only for an order line that waits (store/waiting.ts: recorded by Claim Key or Risk Check),
 *      never for one delivered, cancelled or refunded meanwhile;
 *   4. at most once per order (store/notices.ts): the notices row is written BEFORE sending, so of
 *      any number of executions and workers exactly one sends; a recorded failure may be tried
 *      again by a later run, a send interrupted by a crash is never repeated (it may have gone out).
 */
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, MailError } from '../outbound';
import { redactSecrets } from '../secrets';
import { type Actor, type KeyStore, type WaitingLine, orderLabel } from '../store';
import { checkRecipient, prepareChannel, sendOnChannel, type NotifyChannel, type NotifyChannelKind } from './channels';
import type { LinkSettings } from './link';
import { DEFAULT_TIME_ZONE, formatDate, variablesIn, type TemplateContext } from './template';

/** Bilingual (中文 + English) delay notice that works without configuration. Never a key in it. */
export const DELAY_TEMPLATES: Readonly<{ subject: string; text: string; html: string }> = {
	subject: '【{商品名称}】订单处理中 / Your order {orderId} is being processed',
	text: [
		'您好，感谢您的购买！我们正在处理您的订单，预计 {预计时间} 内发货。',
		'Hello, thank you for your purchase! We are processing your order, expected within {expectedWithin}.',
		'',
		'订单号 / Order ID: {订单号}',
		'商品 / Product: {商品名称}',
		'数量 / Quantity: {数量}',
		'',
		'发货后您会另外收到一封邮件。',
		'You will get another email as soon as it is delivered.',
	].join('\n'),
	html: [
		'<!DOCTYPE html>',
		'<html><head><meta charset="utf-8"><title>{商品名称}</title></head>',
		'<body style="font-family: Arial, \'Microsoft YaHei\', sans-serif; color: #222; line-height: 1.6;">',
		'<p>您好，感谢您的购买！我们正在处理您的订单，预计 {预计时间} 内发货。<br>',
		'Hello, thank you for your purchase! We are processing your order, expected within {expectedWithin}.</p>',
		'<p><strong>订单号 / Order ID:</strong> {订单号}<br>',
		'<strong>商品 / Product:</strong> {商品名称}<br>',
		'<strong>数量 / Quantity:</strong> {数量}</p>',
		'<p style="color: #666;">发货后您会另外收到一封邮件。<br>You will get another email as soon as it is delivered.</p>',
		'</body></html>',
	].join('\n'),
};

export const DEFAULT_DELAY_WEBHOOK_BODY = [
	'{',
	'  "orderId": "{orderId}",',
	'  "productName": "{productName}",',
	'  "quantity": {quantity},',
	'  "expectedWithin": "{expectedWithin}",',
	'  "text": "我们正在处理您的订单 {订单号}，预计 {预计时间} 内发货 / We are processing your order {orderId}, expected within {expectedWithin}"',
	'}',
].join('\n');

/** `{expectedWithin}` when the product sets none. */
export const DEFAULT_EXPECTED_WITHIN = '24 小时 / 24 hours';

export type DelaySkipReason = 'disabled' | 'unknown_sku' | 'not_waiting' | 'already_sent' | 'sending';

export interface DelayNoticeInput {
	orderId: string;
	shop?: string | null;
	sku: string;
	/** Subject / bodies / JSON body left undefined or empty take the delay defaults. */
	channel: NotifyChannel;
	/** `{expectedWithin}` when the product sets none. Default DEFAULT_EXPECTED_WITHIN. */
	expectedWithinFallback?: string | null;
	/** IANA time zone of `{date}` (the payment time). Default Asia/Shanghai. */
	timeZone?: string | null;
	/** `{buyerName}` when the waiting line has no buyer name recorded. */
	buyerNameFallback?: string | null;
	actor?: Actor;
	/** The Key Store credential's delivery-page settings: `{deliveryLink}` (the page says "processing" until delivery). */
	links?: LinkSettings | null;
}

export interface DelayNoticeResult {
	/** sent now; already_sent (by an earlier run); skipped (see `skipped` and `message`). */
	outcome: 'sent' | 'skipped';
	sent: boolean;
	skipped?: DelaySkipReason;
	message?: string;
	orderId: string;
	shop: string | null;
	sku: string;
	channel: NotifyChannelKind | string | null;
	recipient: string | null;
	messageId: string | null;
	/** A recorded failure of an earlier run was tried again now. */
	retried: boolean;
	/** When the notice was sent (now or before). */
	sentAt: string | null;
	expectedWithin: string | null;
	/** The waiting line the notice is about. */
	waiting: Pick<WaitingLine, 'id' | 'reason' | 'status' | 'quantity' | 'paidAt'> | null;
}

/** The send failed; recorded as failed, so a later Send Delay Notice of this order may try again. Never carries a key. */
export class DelayNoticeError extends StoreError {
	constructor(
		message: string,
		readonly channel: NotifyChannelKind,
		readonly recipient: string | null,
		readonly detail: { httpStatus?: number | null; attempts?: number; mailCode?: string; transient?: boolean } = {},
	) {
		super(message, 'send_failed');
		this.name = 'DelayNoticeError';
	}
}

/** The channel with the delay defaults filled in, checked; the delivery content may not appear in it. */
export function prepareDelayChannel(channel: NotifyChannel) {
	const empty = (v: string | null | undefined) => v === undefined || v === null || String(v).trim() === '';
	let filled: NotifyChannel;
	if (channel?.kind === 'email') {
		const bothEmpty = empty(channel.text) && empty(channel.html);
		filled = {
			...channel,
			subject: empty(channel.subject) ? DELAY_TEMPLATES.subject : channel.subject,
			text: bothEmpty ? DELAY_TEMPLATES.text : channel.text,
			html: bothEmpty ? DELAY_TEMPLATES.html : channel.html,
		};
	} else if (channel?.kind === 'webhook') {
		filled = { ...channel, body: empty(channel.body) ? DEFAULT_DELAY_WEBHOOK_BODY : channel.body };
	} else {
		filled = channel;
	}
	const prepared = prepareChannel(filled);
	const templates: Array<[string, string, string | null]> =
		prepared.kind === 'email'
			? [['subject', 'Subject', prepared.subject], ['text', 'Text Body', prepared.text], ['html', 'HTML Body', prepared.html]]
			: [['body', 'JSON Body', prepared.body]];
	for (const [field, label, template] of templates) {
		if (template !== null && variablesIn(template).includes('deliveryContent')) {
			throw new ValidationError(field, `The delay notice's ${label} uses {deliveryContent} / {发货内容}: a delay notice never carries the keys. Remove it (the keys follow in the delivery message).`);
		}
	}
	return prepared;
}

/**
 * Sends the order's delay notice for one waiting order line, at most once per order. Returns sent,
 * or skipped with the reason; throws ValidationError for bad input (nothing sent, nothing
 * recorded) and DelayNoticeError when the send failed (recorded as failed).
 */
export async function sendDelayNotice(store: KeyStore, input: DelayNoticeInput): Promise<DelayNoticeResult> {
	const prepared = prepareDelayChannel(input.channel);
	const timeZone = String(input.timeZone ?? '').trim() || DEFAULT_TIME_ZONE;
	formatDate(new Date(0), timeZone); // a ValidationError for an unknown time zone, before anything is touched
	const orderId = String(input.orderId ?? '').trim();
	const sku = String(input.sku ?? '').trim();
	if (orderId === '') throw new ValidationError('orderId', 'Order ID is required (e.g. {{ $json.orderId }} from Claim Key or Risk Check).');
	if (sku === '') throw new ValidationError('sku', 'SKU is required: the delay notice tells about one product of the order.');
	const shop = String(input.shop ?? '').trim() || null;
	const base = { orderId, shop, sku, channel: prepared.kind, recipient: null, messageId: null, retried: false, sentAt: null, expectedWithin: null, waiting: null };
	const skipped = (reason: DelaySkipReason, message: string, extra: Partial<DelayNoticeResult> = {}): DelayNoticeResult => ({ ...base, outcome: 'skipped', sent: false, skipped: reason, message, ...extra });
	const what = `${orderLabel(shop, orderId)} (SKU ${sku})`;

	const product = await store.getProduct(sku);
	if (!product) return skipped('unknown_sku', `Unknown SKU "${sku}": no delay notice (there is no product to take its settings from).`);
	if (!product.settings.delayNotice) {
		return skipped('disabled', `Delay notices are off for SKU ${sku}: turn on Delay Notice in Key Pool → Upsert Product → Buyer-Facing Settings to send them.`);
	}
	const expectedWithin = product.settings.expectedWithin ?? (String(input.expectedWithinFallback ?? '').trim() || DEFAULT_EXPECTED_WITHIN);
	const [line] = await store.listWaiting({ orderId, shop, sku });
	if (!line) {
		return skipped('not_waiting', `${what} does not wait (it was delivered, cancelled or refunded, or never recorded as waiting): no delay notice.`, { expectedWithin });
	}
	const waiting = { id: line.id, reason: line.reason, status: line.status, quantity: line.quantity, paidAt: line.paidAt };
	// A refund that raced the hold (store/waiting.ts): never tell a refunded buyer to wait.
	const lines = await store.getDeliveries({ orderId, shop, sku });
	if (lines.some((d) => d.status === 'revoked')) {
		return skipped('not_waiting', `${what} was refunded: no delay notice.`, { expectedWithin, waiting });
	}

	let recipient: string;
	if (prepared.kind === 'email') {
		if (prepared.to !== null) recipient = prepared.to;
		else if (line.buyer.email && line.buyer.email.trim() !== '') recipient = checkRecipient('to', `The buyer email recorded with ${what}`, line.buyer.email);
		else throw new ValidationError('to', `No recipient: To is empty and ${what} has no buyer email recorded.`);
	} else {
		recipient = prepared.recipient;
	}

	const ref = { orderId, shop, kind: 'delay' as const };
	const lease = await store.beginNotice(ref, prepared.kind);
	if (lease.kind !== 'go') {
		if (lease.kind === 'sending') {
			return skipped('sending', `The delay notice of ${orderLabel(shop, orderId)} is being sent by another execution (or one that stopped mid-send, so it may have gone out); it is not sent again.`, {
				expectedWithin, waiting, channel: lease.notice.channel,
			});
		}
		return skipped('already_sent', `The delay notice of ${orderLabel(shop, orderId)} was sent before (${lease.notice.at}); it goes out at most once per order.`, {
			expectedWithin, waiting, channel: lease.notice.channel, sentAt: lease.notice.at,
		});
	}

	const secrets = prepared.secrets;
	const ctx: TemplateContext = {
		productName: product.name || sku,
		deliveryContent: [],
		orderId,
		buyerName: line.buyer.name ?? (input.buyerNameFallback ? String(input.buyerNameFallback) : null),
		quantity: line.quantity,
		date: line.paidAt,
		expectedWithin,
		usageGuide: product.settings.usageGuide,
		afterSaleNote: product.settings.afterSaleNote,
		recommended: product.settings.recommended,
		reviewUrl: product.settings.reviewUrl,
		deliveryLink: input.links ? store.deliveryLink(input.links, { shop, orderId }) : null,
	};
	let messageId: string | null;
	try {
		const sent = await sendOnChannel(prepared, recipient, ctx, timeZone, secrets);
		messageId = sent.messageId === null ? null : redactSecrets(sent.messageId, secrets).slice(0, 255);
	} catch (err) {
		const http = err instanceof HttpCallError ? err : null;
		const mail = err instanceof MailError ? err : null;
		const where = prepared.kind === 'email' ? `Email to ${recipient}` : `Webhook ${prepared.method} ${prepared.recipient}`;
		const message = redactSecrets(`The delay notice of ${orderLabel(shop, orderId)} was not sent: ${where} failed: ${(err as Error)?.message ?? String(err)}`, secrets);
		await store.finishNotice(ref, lease.token, { status: 'failed', channel: prepared.kind, sku, error: message, actor: input.actor }).catch(() => false);
		if (err instanceof ValidationError) throw new ValidationError(err.field, redactSecrets(err.message, secrets));
		throw new DelayNoticeError(message, prepared.kind, recipient, { httpStatus: http?.status ?? null, attempts: http?.attempts, mailCode: mail?.code, transient: mail?.transient });
	}
	const recorded = await store.finishNotice(ref, lease.token, { status: 'sent', channel: prepared.kind, sku, messageId, actor: input.actor });
	if (!recorded) {
		throw new StoreError(`The delay notice of ${orderLabel(shop, orderId)} was sent, but recording it failed (the record changed meanwhile). It is not sent again.`, 'record_failed');
	}
	return { ...base, outcome: 'sent', sent: true, recipient, messageId, retried: lease.retry, sentAt: new Date().toISOString(), expectedWithin, waiting };
}
