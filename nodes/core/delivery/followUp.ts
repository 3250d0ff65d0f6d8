/**
 * Follow-ups (售后回访) — one message N hours after a delivery was sent, asking whether the key
 * worked, with the product's usage guide, after-sale note, recommended products and the shop's
 * review link (product settings, nodes/core/store/productSettings.ts). The due rule and taking are
 * in nodes/core/store/followUps.ts; the channels are Notify Buyer's (channels.ts).
 *
 * The promises, and how they are kept:
 * - **Never twice.** A follow-up is taken (conditional UPDATE … WHERE follow_up_at IS NULL) before
 *   it is sent, one at a time, and never given back: two runs, two workers or two processes never
 *   both send one.
 * - **A failed send is not retried** (a courtesy message is not worth a duplicate: a timeout may
 *   hide a message that did arrive). It is visible: event `follow_up_failed` with the reason, an
 *   output item with `followUp.error` (or the node's error). The run stops at the first failure, so
 *   an outage of the mail server or webhook costs at most one follow-up per run; the others stay
 *   due for the next run.
 * - **Never to a refunded order.** Only sent/shipped deliveries are taken, and the delivery is read
 *   again right before sending: refunded in between → not sent, event `follow_up_skipped`.
 * - **Never a key.** The keys are not read at all, and a template that uses `{deliveryContent}` /
 *   `{发货内容}` is refused.
 */
import { StoreError, ValidationError } from '../errors';
import { redactAndClip } from '../secrets';
import { DEFAULT_FOLLOW_UP_MAX_LATE_HOURS, type Actor, type Delivery, type KeyStore, type TakenFollowUp } from '../store';
import { checkRecipient, prepareChannel, sendOnChannel, type NotifyChannel, type NotifyChannelKind, type PreparedChannel } from './channels';
import { DEFAULT_TIME_ZONE, formatDate, renderTemplate, type TemplateContext } from './template';

export const MAX_FOLLOW_UPS_PER_RUN = 500;
export const DEFAULT_FOLLOW_UPS_PER_RUN = 50;

/** Bilingual (中文 + English) follow-up email; it never holds the key. */
export const FOLLOW_UP_TEMPLATES: Readonly<{ subject: string; text: string; html: string }> = {
	subject: '【{商品名称}】使用情况回访 / How is your {productName}? (order {orderId})',
	text: [
		'您好 {买家昵称}，',
		'您在订单 {订单号} 购买的「{商品名称}」已经发货一段时间了。卡密能正常使用吗？',
		'Hello {buyerName}, you received "{productName}" (order {orderId}) a while ago. Did your key work?',
		'',
		'使用说明 / How to use:',
		'{使用说明}',
		'',
		'遇到问题？/ Something wrong?',
		'{售后说明}',
		'',
		'欢迎评价 / Tell us how it went:',
		'{评价链接}',
		'',
		'您可能还喜欢 / You may also like:',
		'{推荐商品}',
		'',
		'为了您的安全，本邮件不包含卡密。/ For your safety this message does not contain your key.',
	].join('\n'),
	html: [
		'<!DOCTYPE html>',
		'<html><head><meta charset="utf-8"><title>{商品名称}</title></head>',
		'<body style="font-family: Arial, \'Microsoft YaHei\', sans-serif; color: #222; line-height: 1.6;">',
		'<p>您好 {买家昵称}，<br>您在订单 {订单号} 购买的「{商品名称}」已经发货一段时间了。卡密能正常使用吗？<br>',
		'Hello {buyerName}, you received "{productName}" (order {orderId}) a while ago. Did your key work?</p>',
		'<p><strong>使用说明 / How to use:</strong><br>{使用说明}</p>',
		'<p><strong>遇到问题？/ Something wrong?</strong><br>{售后说明}</p>',
		'<p><strong>欢迎评价 / Tell us how it went:</strong><br><a href="{评价链接}">{评价链接}</a></p>',
		'<p><strong>您可能还喜欢 / You may also like:</strong><br>{推荐商品}</p>',
		'<p style="color: #666; font-size: 13px;">为了您的安全，本邮件不包含卡密。<br>For your safety this message does not contain your key.</p>',
		'</body></html>',
	].join('\n'),
};

/** The follow-up's JSON body for the webhook channel (IM bots, SMS gateways, the shop's message API). */
export const FOLLOW_UP_WEBHOOK_BODY = [
	'{',
	'  "orderId": "{orderId}",',
	'  "productName": "{productName}",',
	'  "buyerName": "{buyerName}",',
	'  "reviewUrl": "{reviewUrl}",',
	'  "text": "【{商品名称}】卡密能正常使用吗？/ Did your key for {productName} work? 订单 / Order {订单号}\\n使用说明 / How to use: {使用说明}\\n售后 / After-sale: {售后说明}\\n评价 / Review: {评价链接}"',
	'}',
].join('\n');

export interface FollowUpInput {
	/** Notify Buyer's channel; empty templates take the follow-up defaults. Email goes to the buyer email recorded with the delivery. */
	channel: NotifyChannel;
	/** At most this many follow-ups in this run (default 50, at most 500). */
	limit?: number | string | null;
	/** Follow-ups more overdue than this are never sent (default 168 hours). */
	maxLateHours?: number | string | null;
	/** IANA time zone of `{date}`. Default Asia/Shanghai. */
	timeZone?: string | null;
	/** The clock (epoch ms); injectable for tests. */
	now?: number;
	actor?: Actor;
}

export interface FollowUpInfo {
	sent: boolean;
	channel: NotifyChannelKind;
	recipient: string | null;
	messageId: string | null;
	/** When the follow-up was taken (ISO). */
	takenAt: string;
	skipped?: 'revoked';
	error?: string;
	attempts?: number;
}

export interface FollowUpResult {
	outcome: 'sent' | 'failed' | 'skipped';
	delivery: Delivery;
	followUp: FollowUpInfo;
	/** For `failed`: the error to show (the run stops after it). */
	error?: FollowUpError;
	message?: string;
}

/** The follow-up send failed; it is recorded (follow_up_failed) and never retried. Never carries a key. */
export class FollowUpError extends StoreError {
	constructor(
		message: string,
		readonly channel: NotifyChannelKind,
		readonly recipient: string | null,
		readonly delivery: Delivery,
		readonly detail: { httpStatus?: number | null; attempts?: number; transient?: boolean } = {},
	) {
		super(message, 'follow_up_failed');
		this.name = 'FollowUpError';
	}
}

function countParam(field: string, label: string, v: number | string | null | undefined, dflt: number, max: number, min: number, integer: boolean): number {
	if (v === undefined || v === null || String(v).trim() === '') return dflt;
	const n = typeof v === 'number' ? v : Number(String(v).trim());
	if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
		throw new ValidationError(field, `${label} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got "${String(v).slice(0, 40)}").`);
	}
	return n;
}

const CONTENT_MARK = '\u0000AD-CONTENT\u0000';

/**
 * Checks the channel for follow-ups (bad input changes nothing): empty templates become the
 * follow-up defaults, and a template that would show the delivery content is refused.
 */
export function prepareFollowUpChannel(channel: NotifyChannel): PreparedChannel {
	if (!channel || (channel.kind !== 'email' && channel.kind !== 'webhook')) throw new ValidationError('channel', 'Channel must be Email or Webhook.');
	const filled: NotifyChannel =
		channel.kind === 'email'
			? {
					...channel,
					to: null, // always the buyer email recorded with the delivery
					subject: String(channel.subject ?? '').trim() === '' ? FOLLOW_UP_TEMPLATES.subject : channel.subject,
					text: channel.text === undefined ? FOLLOW_UP_TEMPLATES.text : channel.text,
					html: channel.html === undefined ? FOLLOW_UP_TEMPLATES.html : channel.html,
				}
			: { ...channel, body: String(channel.body ?? '').trim() === '' ? FOLLOW_UP_WEBHOOK_BODY : channel.body };
	const prepared = prepareChannel(filled);
	const probe: TemplateContext = { productName: '', deliveryContent: CONTENT_MARK, orderId: '', quantity: 1, date: new Date(0) };
	const templates: Array<[string, string, string | null]> =
		prepared.kind === 'email'
			? [['subject', 'Subject', prepared.subject], ['text', 'Text Body', prepared.text], ['html', 'HTML Body', prepared.html]]
			: [['body', 'JSON Body', prepared.body]];
	for (const [field, label, template] of templates) {
		if (template !== null && renderTemplate(template, probe).includes(CONTENT_MARK)) {
			throw new ValidationError(field, `The follow-up ${label} uses {deliveryContent} / {发货内容}: a follow-up never carries the keys. Remove it (the buyer can ask for a resend).`);
		}
	}
	return prepared;
}

/**
 * Takes the next due follow-up (oldest send first), or null when none is due. Of concurrent callers
 * exactly one takes each delivery.
 */
export async function takeNextFollowUp(store: KeyStore, q: { now: number; maxLateHours?: number; requireEmail?: boolean }): Promise<TakenFollowUp | null> {
	for (;;) {
		const candidates = await store.followUps.due({ ...q, limit: 20 });
		if (candidates.length === 0) return null;
		for (const c of candidates) if (await store.followUps.take(c.delivery.id, q.now)) return c;
		// all 20 were taken by others meanwhile: look again
	}
}

/**
 * Sends the follow-ups that are due, one at a time (take → re-check → send → record), at most
 * `limit`, stopping at the first failure. `onResult` sees each result as it happens. Throws only
 * for bad input (ValidationError, nothing taken) or when the key store fails.
 */
export async function runFollowUps(store: KeyStore, input: FollowUpInput, onResult?: (r: FollowUpResult) => void | Promise<void>): Promise<FollowUpResult[]> {
	const prepared = prepareFollowUpChannel(input.channel);
	const limit = countParam('limit', 'Max Follow-Ups per Run', input.limit, DEFAULT_FOLLOW_UPS_PER_RUN, MAX_FOLLOW_UPS_PER_RUN, 1, true);
	const maxLateHours = countParam('maxLateHours', 'Skip When Late by (Hours)', input.maxLateHours, DEFAULT_FOLLOW_UP_MAX_LATE_HOURS, 24 * 365, 1, false);
	const timeZone = String(input.timeZone ?? '').trim() || DEFAULT_TIME_ZONE;
	formatDate(new Date(0), timeZone); // a ValidationError for an unknown time zone, before anything is taken
	const results: FollowUpResult[] = [];
	while (results.length < limit) {
		const now = input.now ?? Date.now();
		const taken = await takeNextFollowUp(store, { now, maxLateHours, requireEmail: prepared.kind === 'email' });
		if (!taken) break;
		const r = await sendTakenFollowUp(store, taken, prepared, { timeZone, actor: input.actor });
		results.push(r);
		await onResult?.(r);
		if (r.outcome === 'failed') break;
	}
	return results;
}

/**
 * Sends one follow-up this caller has taken: reads the delivery again (refunded meanwhile → skipped),
 * renders the follow-up with the product's settings (never the keys) and records the outcome.
 */
export async function sendTakenFollowUp(
	store: KeyStore,
	taken: TakenFollowUp,
	prepared: PreparedChannel,
	opts: { timeZone?: string | null; actor?: Actor } = {},
): Promise<FollowUpResult> {
	const timeZone = String(opts.timeZone ?? '').trim() || DEFAULT_TIME_ZONE;
	const takenAt = new Date(taken.takenAt).toISOString();
	const base = { sent: false, channel: prepared.kind, recipient: null, messageId: null, takenAt } as FollowUpInfo;
	const d = (await store.followUps.current(taken.delivery.id)) ?? taken.delivery;
	if (d.status === 'revoked') {
		await store.followUps.record('follow_up_skipped', d, { reason: 'revoked' }, opts.actor);
		return { outcome: 'skipped', delivery: d, followUp: { ...base, skipped: 'revoked' }, message: `Order ${d.orderId} (SKU ${d.sku}) was refunded before its follow-up went out: nothing was sent.` };
	}
	const fail = async (message: string, recipient: string | null, detail: FollowUpError['detail'] = {}): Promise<FollowUpResult> => {
		const text = redactAndClip(message, prepared.secrets, 500);
		await store.followUps.record('follow_up_failed', d, { channel: prepared.kind, error: text }, opts.actor);
		const error = new FollowUpError(text, prepared.kind, recipient, d, detail);
		return { outcome: 'failed', delivery: d, followUp: { ...base, recipient, error: text }, error };
	};

	let recipient: string;
	if (prepared.kind === 'email') {
		try {
			recipient = checkRecipient('to', `The buyer email recorded with delivery ${d.id}`, String(d.buyer.email ?? ''));
		} catch (err) {
			return fail(`Follow-up of delivery ${d.id} (order ${d.orderId}) not sent: ${(err as Error).message}`, null);
		}
	} else {
		recipient = prepared.recipient;
	}

	const s = taken.product.settings;
	const product = await store.getProduct(d.sku).catch(() => null);
	const settings = product?.settings ?? s;
	const ctx: TemplateContext = {
		productName: product?.name ?? taken.product.name ?? d.sku,
		deliveryContent: [], // never the keys
		orderId: d.orderId,
		buyerName: d.buyer.name,
		quantity: d.quantity,
		date: d.createdAt,
		usageGuide: settings.usageGuide,
		afterSaleNote: settings.afterSaleNote,
		recommended: settings.recommended,
		reviewUrl: settings.reviewUrl,
	};
	try {
		const sent = await sendOnChannel(prepared, recipient, ctx, timeZone, prepared.secrets);
		const messageId = sent.messageId === null ? null : redactAndClip(sent.messageId, prepared.secrets, 255);
		await store.followUps.record('follow_up_sent', d, { channel: prepared.kind, messageId }, opts.actor);
		return {
			outcome: 'sent',
			delivery: d,
			followUp: { ...base, sent: true, recipient, messageId, ...(sent.attempts !== undefined ? { attempts: sent.attempts } : {}) },
		};
	} catch (err) {
		const e = err as { message?: string; status?: number | null; attempts?: number; transient?: boolean };
		const what = prepared.kind === 'email' ? `Follow-up email to ${recipient}` : `Follow-up webhook ${prepared.method} ${prepared.recipient}`;
		return fail(`${what} (order ${d.orderId}, SKU ${d.sku}) failed: ${e?.message ?? String(err)}. It is recorded as follow_up_failed and not sent again.`, recipient, {
			httpStatus: typeof e?.status === 'number' ? e.status : null,
			attempts: e?.attempts,
			transient: e?.transient,
		});
	}
}
