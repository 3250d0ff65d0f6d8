/**
 * A local Stripe API for Shop Webhook's Stripe preset with SKU From = Line Items: the Checkout
 * Session line items the webhook does not carry, built from Stripe's documentation:
 *
 * - `GET /v1/checkout/sessions/{id}/line_items` (https://docs.stripe.com/api/checkout/sessions/line_items):
 *   a list `{object: 'list', data, has_more, url}` of `item`s; `limit` (1–100, default 10) and
 *   `starting_after` (an item id) page it (https://docs.stripe.com/api/pagination); `price.product`
 *   is the product's id unless `expand[]=data.price.product` is asked
 *   (https://docs.stripe.com/api/expanding_objects).
 * - The secret key as Bearer token or Basic user (https://docs.stripe.com/api/authentication); a
 *   wrong key answers 401, an unknown session 404 `resource_missing`, both as
 *   `{error: {type, code?, message}}` (https://docs.stripe.com/api/errors).
 *
 *   const stripe = await startStripeApiFake('sk_test_…');
 *   stripe.addSession('cs_test_…', lines, { pageSize: 1 });   // pages of one line, as if Stripe paged
 *   stripe.faults('*', [500, 500, 500]);                       // Stripe down
 *   // … credential stripeApiUrl = stripe.url …
 *
 * `pageSize` caps a page below the client's `limit`, so a short list still exercises the paging.
 */
import { basicCredentials, bearerToken, startFake, type FakeRequest, type FakeServer } from './http';

type Json = Record<string, unknown>;

export interface StripeApiFake extends FakeServer {
	addSession(sessionId: string, lines: Json[], options?: { pageSize?: number }): void;
}

const stripeError = (status: number, type: string, message: string, code?: string) => ({ status, body: { error: { type, ...(code ? { code } : {}), message } } });

/** The line with `price.product` collapsed to its id, as Stripe sends it without expansion. */
function unexpanded(line: Json): Json {
	const price = line.price as Json | undefined;
	const product = price?.product as Json | string | undefined;
	if (!price || typeof product !== 'object' || product === null) return line;
	return { ...line, price: { ...price, product: product.id } };
}

export async function startStripeApiFake(secretKey: string): Promise<StripeApiFake> {
	const sessions = new Map<string, { lines: Json[]; pageSize: number }>();

	const lineItems = (req: FakeRequest, sessionId: string) => {
		const session = sessions.get(sessionId);
		if (!session) return stripeError(404, 'invalid_request_error', `No such checkout.session: '${sessionId}'`, 'resource_missing');
		const limit = req.query.limit === undefined ? 10 : Number(req.query.limit);
		if (!Number.isInteger(limit) || limit < 1 || limit > 100) return stripeError(400, 'invalid_request_error', 'Invalid integer: limit');
		let start = 0;
		if (req.query.starting_after !== undefined) {
			start = session.lines.findIndex((l) => l.id === req.query.starting_after) + 1;
			if (start === 0) return stripeError(400, 'invalid_request_error', `Invalid starting_after: ${req.query.starting_after}`);
		}
		const end = start + Math.min(limit, session.pageSize);
		const expand = req.query['expand[]'] === 'data.price.product';
		return {
			status: 200,
			body: {
				object: 'list',
				data: session.lines.slice(start, end).map((l) => (expand ? l : unexpanded(l))),
				has_more: end < session.lines.length,
				url: `/v1/checkout/sessions/${sessionId}/line_items`,
			},
		};
	};

	const fake = await startFake((req) => {
		const key = bearerToken(req.headers.authorization) || basicCredentials(req.headers.authorization)?.user || '';
		if (key === '') return stripeError(401, 'invalid_request_error', 'You did not provide an API key.');
		if (key !== secretKey) return stripeError(401, 'invalid_request_error', `Invalid API Key provided: ${key.slice(0, 8)}************${key.slice(-4)}`);
		const m = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(req.path);
		if (req.method === 'GET' && m) return lineItems(req, decodeURIComponent(m[1]));
		return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${req.path}).`);
	}, { errorBody: (status) => ({ error: { type: 'api_error', message: `An error occurred with our connection to Stripe (${status}).` } }) });

	return Object.assign(fake, {
		addSession(sessionId: string, lines: Json[], options: { pageSize?: number } = {}) {
			sessions.set(sessionId, { lines, pageSize: options.pageSize ?? 100 });
		},
	});
}
