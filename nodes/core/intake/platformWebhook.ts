/**
 * Shop webhooks from a platform preset (WooCommerce, Shopify, Stripe, …; platforms/): the
 * "HTTP request → decision" algorithm when the platform, not our canonical JSON, defines the
 * signature and the payload. Checks run in this order:
 *
 *   1. method (405)                        2. the platform's ping (200 `{ignored: true, event: "ping"}`, nothing starts)
 *   3. Content-Type, the platform's (415)  4. size (413)
 *   5. platform.verify (401, `reason` and `field` = the platform's header)
 *   6. JSON with exact digits (400, field `body`)
 *   7. platform.classify → paid / refunded / ignore (a signed event we do not handle: 200
 *      `{ignored: true}`, never 4xx/5xx — WooCommerce disables a webhook after 5 failures)
 *   8. the event filter (200 ignored)      9. `complete` → the `complete` decision (below)
 *  10. Field Mapping overrides single fields from the payload, the shop is `<platform>:<Shop Name>`,
 *      order.ts parseOrder validates (400 naming the canonical field) → accept.
 *
 * A platform whose webhook lacks part of the order (Stripe's line items) classifies with a
 * `complete` function: the decision is then `{ action: 'complete', complete, pending }`. The
 * node calls `completeWebhook(decision, fetchJson, settings)` — or `decision.complete(fetch)`
 * and then `finishWebhook(decision, order, settings)` — which runs step 10 on the completed
 * order. `complete` resolves to the whole canonical order (it replaces what classify read).
 *
 * Field Mapping with a preset: each mapped field is read from the platform's payload instead of
 * the preset's reading (`buyer.email` → `billing.email`); item fields (`items.sku` → `product_id`)
 * from the payload's line behind each item (Classification.lines), or from the elements of a
 * mapped `items` array. Internally the payload sits under `payload`, so messages say
 * `buyer.email (from "payload.billing.email")`.
 */
import { ValidationError } from '../errors';
import { isJsonObject } from './json';
import type { OrderMapping } from './mapping';
import { parseJsonBody, parseOrder } from './order';
import type { CanonicalJson, FetchJson } from './platforms';
import {
	bodyProblem,
	ignore as ignoreAnswer,
	methodProblem,
	reject,
	scrub,
	type CompleteDecision,
	type PendingOrder,
	type ShopWebhookDecision,
	type WebhookDecision,
	type WebhookRequest,
} from './webhookAnswers';
import { webhookItems } from './webhookItems';
import { resolveWebhookSettings, WebhookConfigError, type ResolvedWebhookSettings, type WebhookSettings } from './webhookSettings';

/** Where the platform's payload is placed for Field Mapping overrides (and named in messages). */
const PAYLOAD = 'payload';

/** The body bytes as a Buffer (a string is taken as UTF-8, as it was received). */
export function rawBytes(raw: Buffer | string | null | undefined): Buffer {
	if (raw === null || raw === undefined) return Buffer.alloc(0);
	return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
}

/** The platform's signature check when Verify Signature is on: null, or the 401 naming the header and the reason. */
export function signatureProblem(req: WebhookRequest, s: ResolvedWebhookSettings): WebhookDecision | null {
	if (!s.verify) return null;
	const r = s.platform.verify({
		headers: req.headers,
		query: req.query ?? {},
		rawBody: rawBytes(req.rawBody),
		secret: s.secret,
		appKey: s.appKey,
		merchantSecret: s.merchantSecret,
		now: req.now ?? Date.now(),
		toleranceSeconds: s.tolerance,
		options: s.platformOptions,
	});
	return r.ok ? null : reject(401, r.message, { field: r.field, reason: r.reason });
}

/** Steps 1–9 (see the module comment) for a preset; `s` from resolveWebhookSettings. Not scrubbed: the caller scrubs. */
export function decidePreset(req: WebhookRequest, s: ResolvedWebhookSettings): ShopWebhookDecision {
	const { platform } = s;
	const ignore = (event: string, message: string) => withAnswer(ignoreAnswer(event, message), platform.answer);
	const method = methodProblem(req);
	if (method) return method;
	const raw = rawBytes(req.rawBody);
	const pong = req.truncated === true ? null : platform.ping?.({ headers: req.headers, rawBody: raw });
	if (pong) {
		const event = typeof pong.event === 'string' ? pong.event : 'ping';
		const message = typeof pong.message === 'string' ? pong.message : `${platform.label} ping acknowledged; nothing was started.`;
		return ignore(event, message);
	}
	const transport = bodyProblem(req, s, platform.contentTypes ?? ['application/json']);
	if (transport) return transport;
	const unsigned = signatureProblem(req, s);
	if (unsigned) return unsigned;
	try {
		const payload = parseJsonBody(raw, Number.MAX_SAFE_INTEGER);
		const c = platform.classify(payload, { headers: req.headers, options: s.platformOptions });
		if (c.kind === 'ignore') return ignore(c.event, c.message);
		const event = c.kind === 'paid' ? 'order.paid' : 'order.refunded';
		if (s.events !== 'any' && event !== s.events) {
			return ignore(event, `This webhook handles ${s.events} only; ${event} was acknowledged and ignored.`);
		}
		const pending: PendingOrder = { kind: c.kind, order: c.order, payload, lines: c.lines };
		if (c.complete) return { action: 'complete', platform: platform.id, eventId: c.eventId, complete: c.complete, pending };
		return finishPending(pending, c.order, s, c.eventId);
	} catch (e) {
		if (e instanceof ValidationError) return reject(400, e.message, { field: e.field });
		throw e;
	}
}

/**
 * The body parseOrder reads: the order as the preset read it (or as `complete` returned it), its
 * event and shop set by the preset, the payload under PAYLOAD; and the seller's mapping pointed
 * at the payload. Throws WebhookConfigError for item fields the payload's lines cannot answer.
 */
function overlay(p: PendingOrder, order: CanonicalJson, s: ResolvedWebhookSettings): { body: Record<string, unknown>; mapping?: OrderMapping } {
	const body: Record<string, unknown> = { ...order, event: p.kind === 'paid' ? 'order.paid' : 'order.refunded', shop: s.shop, [PAYLOAD]: p.payload };
	if (s.mapping === undefined) return { body };
	const mapping: OrderMapping = {};
	for (const [field, path] of Object.entries(s.mapping) as Array<[keyof OrderMapping, string | undefined]>) {
		if (path === undefined) continue;
		const itemField = field.startsWith('items.');
		// a mapped `items` array is read from the payload, and its item fields relative to its elements
		mapping[field] = itemField && s.mapping.items !== undefined ? path : `${PAYLOAD}.${path}`;
	}
	const itemFields = Object.keys(mapping).filter((f) => f.startsWith('items.'));
	if (itemFields.length > 0 && s.mapping.items === undefined) {
		const items = body.items;
		const lines = p.lines;
		if (!Array.isArray(items) || lines === undefined || lines.length !== items.length) {
			throw new WebhookConfigError(
				`mapping.${itemFields[0]}`,
				`Field Mapping "${itemFields[0]}" cannot be used with ${s.platform.label}: its order lines are not lines of the webhook payload. Map "items" to the payload's array of lines as well.`,
			);
		}
		body.items = items.map((item, i) => (isJsonObject(item) ? { ...item, [PAYLOAD]: lines[i] } : item));
	}
	return { body, mapping };
}

/** The 200 answer with the platform's own success fields (Platform.answer) added. */
function withAnswer(d: WebhookDecision, answer: Readonly<Record<string, unknown>> | undefined): WebhookDecision {
	if (answer && d.action === 'ignore') Object.assign(d.body, answer);
	return d;
}

/** Step 10: overrides, shop, validation → accept (or 400 naming the field). Not scrubbed. */
function finishPending(p: PendingOrder, order: CanonicalJson, s: ResolvedWebhookSettings, eventId: string | undefined): WebhookDecision {
	try {
		const { body, mapping } = overlay(p, order, s);
		const parsed = parseOrder(body, { mapping });
		return {
			action: 'accept',
			order: parsed,
			items: webhookItems(parsed, s.paidOutput),
			ack: { received: true, orderId: parsed.orderId, ...(s.platform.answer ?? {}) },
			...(eventId === undefined ? {} : { eventId }),
		};
	} catch (e) {
		if (e instanceof ValidationError) return reject(400, e.message, { field: e.field });
		throw e;
	}
}

/**
 * Finishes a `complete` decision with the order its `complete(fetch)` resolved to: Field Mapping
 * overrides, the shop, validation and the items → accept, or 400 naming the field. Pure; throws
 * WebhookConfigError like decideWebhook, and an Error when `order` is not an object.
 */
export function finishWebhook(decision: CompleteDecision, order: CanonicalJson, settings: WebhookSettings): WebhookDecision {
	const s = resolveWebhookSettings(settings);
	if (!isJsonObject(order)) throw new Error(`${s.platform.label}: completing the order through its API gave no order object.`);
	return scrub(finishPending(decision.pending, order, s, decision.eventId), s.secret);
}

/**
 * `decision.complete(fetch)` then finishWebhook. A ValidationError from the platform's API reading
 * (e.g. a line without SKU) is answered 400 naming the field; any other error (the API is down,
 * refused the credential) is thrown, so the node fails the call with 5xx and the platform retries.
 */
export async function completeWebhook(decision: CompleteDecision, fetch: FetchJson, settings: WebhookSettings): Promise<WebhookDecision> {
	let order: CanonicalJson;
	try {
		order = await decision.complete(fetch);
	} catch (e) {
		if (e instanceof ValidationError) return scrub(reject(400, e.message, { field: e.field }), resolveWebhookSettings(settings).secret);
		throw e;
	}
	return finishWebhook(decision, order, settings);
}
