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
 *      valid JSON) and send by SMTP (nodemailer) or HTTP webhook (callWithRetry) — channels.ts;
 *   5. `markSent` (channel, provider message id, event) or `markSendFailed` with the error scrubbed
 *      of the keys and of the channel's secrets; the delivery then stays `claimed` (resendable).
 *
 * Nothing returned or thrown from here carries a plaintext key unless `reveal` asks for the keys.
 */
import { redactSecrets } from '../secrets';
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, MailError } from '../outbound';
import { ORDER_WIDE_SKU, type Actor, type Delivery, type DeliveredKey, type DeliveryWithKeys, type KeyStore, type Product, orderLabel } from '../store';
import { checkRecipient, prepareChannel, sendOnChannel, type ChannelSent, type NotifyChannel, type NotifyChannelKind } from './channels';
import { withoutKeys } from './output';
import type { LinkSettings } from './link';
import { DEFAULT_TIME_ZONE, escapeHtml, formatDate, productTemplateFields, type TemplateContext } from './template';

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
	/** The Key Store credential's delivery-page settings: `{deliveryLink}` in templates. */
	links?: LinkSettings | null;
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

// ------------------------------------------------------------------------------------- helpers

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

	let sent: ChannelSent;
	try {
		let product: Product | null = null;
		try {
			product = await store.getProduct(delivery.sku);
		} catch {
			// a deleted product: fall back to the sku
		}
		const ctx: TemplateContext = {
			productName: product?.name ?? delivery.sku,
			deliveryContent: plainKeys,
			orderId: delivery.orderId,
			buyerName: delivery.buyer.name ?? (input.buyerNameFallback ? String(input.buyerNameFallback) : null),
			quantity: delivery.quantity,
			date: delivery.createdAt,
			deliveryLink: input.links ? store.deliveryLink(input.links, delivery) : null,
			...productTemplateFields(product),
		};
		sent = await sendOnChannel(prepared, recipient, ctx, timeZone, secrets);
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
	const messageId = sent.messageId === null ? null : scrub(sent.messageId).slice(0, 255);
	const attempts = sent.attempts;

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
