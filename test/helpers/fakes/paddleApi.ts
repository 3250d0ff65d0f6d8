/**
 * A local Paddle Billing API for Shop Webhook's Paddle preset: what a notification does not carry,
 * built from Paddle's documentation:
 *
 * - `GET /customers/{customer_id}` (https://developer.paddle.com/api-reference/customers/get-customer)
 *   and `GET /transactions/{transaction_id}`
 *   (https://developer.paddle.com/api-reference/transactions/get-transaction) answer
 *   `{data: <entity>, meta: {request_id}}`;
 * - `Authorization: Bearer <API key>` (https://developer.paddle.com/api-reference/about/authentication);
 *   errors are `{error: {type: 'request_error', code, detail, documentation_url}, meta}`: 403
 *   `authentication_missing` / `invalid_token`, 404 `not_found` "%s %s not found."
 *   (https://developer.paddle.com/errors/shared/not_found).
 *
 *   const paddle = await startPaddleApiFake('pdl_live_apikey_…');
 *   paddle.customers.set('ctm_…', customerFixture.data);
 *   // … credential paddleApiUrl = paddle.url …
 */
import { bearerToken, startFake, type FakeServer } from './http';

type Json = Record<string, unknown>;

export interface PaddleApiFake extends FakeServer {
	customers: Map<string, Json>;
	transactions: Map<string, Json>;
}

function paddleAnswer(status: number, body: Json) {
	return { status, body: { ...body, meta: { request_id: 'a1b2c3d4-0000-4000-8000-000000000000' } } };
}

function paddleFailure(status: number, code: string, detail: string) {
	return paddleAnswer(status, { error: { type: 'request_error', code, detail, documentation_url: `https://developer.paddle.com/errors/shared/${code}` } });
}

export async function startPaddleApiFake(apiKey: string): Promise<PaddleApiFake> {
	const customers = new Map<string, Json>();
	const transactions = new Map<string, Json>();
	const entities: Record<string, [string, Map<string, Json>]> = { customers: ['Customer', customers], transactions: ['Transaction', transactions] };

	const fake = await startFake(
		(req) => {
			const key = bearerToken(req.headers.authorization);
			if (key === '') return paddleFailure(403, 'authentication_missing', 'Authentication header missing.');
			if (key !== apiKey) return paddleFailure(403, 'invalid_token', 'Invalid or revoked API key.');
			const m = /^\/(customers|transactions)\/([^/]+)$/.exec(req.path);
			if (req.method !== 'GET' || !m) return paddleFailure(404, 'not_found', `Path ${req.path} not found.`);
			const [label, store] = entities[m[1]];
			const id = decodeURIComponent(m[2]);
			const entity = store.get(id);
			return entity ? paddleAnswer(200, { data: entity }) : paddleFailure(404, 'not_found', `${label} ${id} not found.`);
		},
		{ errorBody: (status) => paddleFailure(status, status >= 500 ? 'internal_error' : 'bad_request', 'The request failed.').body },
	);
	return Object.assign(fake, { customers, transactions });
}
