/**
 * Shop webhooks (DESIGN.md §7): the whole "HTTP request → decision" algorithm, without n8n.
 *
 * `decideWebhook(request, settings)` takes the method, the headers and the RAW body bytes of a
 * call and the node's settings, and returns one of
 *
 * - `reject`: answer `status` (405 / 415 / 413 / 401 / 400) with the JSON `body`
 *   (`{ error, field?, reason? }`) and do NOT start the workflow;
 * - `ignore`: a valid call for an event this webhook does not handle: answer 200
 *   `{ ignored: true, event, message }` (2xx, so the shop does not retry it) and do not start the
 *   workflow;
 * - `accept`: the validated canonical order and the items the trigger emits, plus the body of the
 *   immediate answer (`{ received: true, orderId }`).
 *
 * `decideShopWebhook` is the same decision, plus `complete` for a platform preset whose webhook
 * lacks part of the order (platformWebhook.ts: the node completes it through the platform's API
 * with completeWebhook). decideWebhook is for callers that cannot call a platform's API.
 *
 * The settings' `platform` (webhookSettings.ts) chooses the path. `canonical` (the default) and
 * `generic` read the shop's JSON with the Field / Event Mapping; checks run in this order, so an
 * unsigned caller learns nothing about the payload rules:
 *   1. method (405, POST only)          2. Content-Type (415)        3. size (413)
 *   4. signature + timestamp (401; the canonical X-Signature scheme, or Generic HMAC's)
 *   5. JSON (400, field `body`)         6. event (400 / ignore)
 *   7. canonical order (400, field = the canonical path, e.g. `items[1].quantity`).
 * Every other platform is a preset, decided by platformWebhook.ts (its module comment has the order).
 *
 * Invalid SETTINGS (an empty secret, a malformed mapping, a bad header name) are the seller's
 * configuration problem, not the caller's: they throw WebhookConfigError (webhookSettings.ts)
 * instead of answering 4xx.
 *
 * Nothing here echoes a secret: failure messages never contain the signing secret or the expected
 * signature, and any occurrence of the secret in a response body is replaced by `[redacted]`.
 *
 * `readRawBody(req, maxBytes)` (rawBody.ts) obtains the raw bytes from a Node.js request the way
 * n8n exposes them; `webhookItems` (webhookItems.ts) shapes the items of an accepted order;
 * webhookAnswers.ts has the request / decision types and the answers.
 */
import { ValidationError } from '../errors';
import { getPath } from './mapping';
import { parseJsonBody, parseOrder, parseOrderEvent } from './order';
import { decidePreset, signatureProblem } from './platformWebhook';
import { isPreset } from './platforms';
import {
	bodyProblem,
	clip,
	ignore,
	methodProblem,
	reject,
	scrub,
	type ShopWebhookDecision,
	type WebhookDecision,
	type WebhookRequest,
} from './webhookAnswers';
import { webhookItems } from './webhookItems';
import { resolveWebhookSettings, WebhookConfigError, type ResolvedWebhookSettings, type WebhookSettings } from './webhookSettings';

/** Canonical and Generic HMAC: steps 1–7 of the module comment. Not scrubbed: the caller scrubs. */
function decideMapped(req: WebhookRequest, s: ResolvedWebhookSettings): WebhookDecision {
	// 1. method, 2. content type, 3. size
	const early = methodProblem(req) ?? bodyProblem(req, s);
	if (early) return early;
	const raw = req.rawBody ?? '';

	// 4. signature (the platform's scheme: canonical X-Signature, or Generic HMAC's)
	const unsigned = signatureProblem(req, s);
	if (unsigned) return unsigned;

	try {
		// 5. JSON (size already checked in bytes)
		const body = parseJsonBody(raw, Number.MAX_SAFE_INTEGER);

		// 6. event: values mapped to "ignore", then the event filter — before the rest of the payload is validated
		const rawEvent = getPath(body, s.mapping?.event ?? 'event');
		if (typeof rawEvent === 'string' && s.ignoreValues.has(rawEvent.trim())) {
			const value = rawEvent.trim();
			return ignore(value, `Event "${clip(value)}" is acknowledged and ignored by this webhook.`);
		}
		const opts = { mapping: s.mapping, eventValues: s.eventValues };
		const event = parseOrderEvent(body, opts);
		if (s.events !== 'any' && event !== s.events) {
			return ignore(event, `This webhook handles ${s.events} only; ${event} was acknowledged and ignored.`);
		}

		// 7. the canonical order
		const order = parseOrder(body, opts);
		return { action: 'accept', order, items: webhookItems(order, s.paidOutput), ack: { received: true, orderId: order.orderId } };
	} catch (e) {
		if (e instanceof ValidationError) return reject(400, e.message, { field: e.field });
		throw e;
	}
}

/** See the module comment: every decision, `complete` included. Throws WebhookConfigError for unusable settings, never for a bad request. */
export function decideShopWebhook(req: WebhookRequest, settings: WebhookSettings): ShopWebhookDecision {
	const s = resolveWebhookSettings(settings);
	return scrub(isPreset(s.platform) ? decidePreset(req, s) : decideMapped(req, s), s.secret);
}

/**
 * The answer for a request whose raw body is gone (something before the node consumed it — n8n
 * parses multipart/form-data itself): the checks that come before the body (405 for the method,
 * 415 for the Content-Type) still answer; null when the request passes them (then the body was
 * needed, and the caller reports that it is missing).
 */
export function decideWithoutBody(req: Omit<WebhookRequest, 'rawBody' | 'truncated'>, settings: WebhookSettings): Extract<WebhookDecision, { action: 'reject' }> | null {
	const d = decideShopWebhook({ ...req, rawBody: null, truncated: false }, settings);
	return d.action === 'reject' && (d.status === 405 || d.status === 415) ? d : null;
}

/**
 * See the module comment. Throws WebhookConfigError for unusable settings, never for a bad
 * request — and for a call that needs the platform's API (use decideShopWebhook for those).
 */
export function decideWebhook(req: WebhookRequest, settings: WebhookSettings): WebhookDecision {
	const d = decideShopWebhook(req, settings);
	if (d.action !== 'complete') return d;
	throw new WebhookConfigError(
		'platform',
		`This ${d.platform} event needs a call to the platform's API to read the order, which this caller cannot make (decideShopWebhook + completeWebhook can).`,
	);
}
