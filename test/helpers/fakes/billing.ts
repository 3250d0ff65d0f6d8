/**
 * Local Stripe and Paddle Billing APIs for the Shop API credential test (their Mark Shipped presets
 * call nothing), built from the platforms' documentation:
 *
 * - Stripe: `GET /v1/balance` (https://docs.stripe.com/api/balance/balance_retrieve) with the secret
 *   key as Basic user or Bearer token (https://docs.stripe.com/api/authentication); a wrong key
 *   answers 401 `{error: {type: 'invalid_request_error', message: 'Invalid API Key provided: …'}}`
 *   (https://docs.stripe.com/api/errors).
 * - Paddle: `GET /event-types` with `Authorization: Bearer <key>`
 *   (https://developer.paddle.com/api-reference/about/authentication,
 *   https://developer.paddle.com/api-reference/event-types/list-event-types); a wrong key answers
 *   403 `invalid_token` "Invalid or revoked API key." and no header 403 `authentication_missing`
 *   (https://developer.paddle.com/errors/shared/invalid_token, …/authentication_missing).
 */
import { basicCredentials, bearerToken, startFake, type FakeServer } from './http';

export async function startStripeFake(secretKey: string): Promise<FakeServer> {
	return await startFake((req) => {
		const key = bearerToken(req.headers.authorization) || basicCredentials(req.headers.authorization)?.user || '';
		if (key !== secretKey) {
			const shown = key ? `${key.slice(0, 8)}************${key.slice(-4)}` : '';
			return { status: 401, body: { error: { type: 'invalid_request_error', message: key ? `Invalid API Key provided: ${shown}` : 'You did not provide an API key.' } } };
		}
		if (req.method === 'GET' && req.path === '/v1/balance') {
			return { status: 200, body: { object: 'balance', available: [{ amount: 0, currency: 'usd', source_types: { card: 0 } }], livemode: key.startsWith('sk_live_'), pending: [] } };
		}
		return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` } } };
	});
}

const paddleError = (status: number, code: string, detail: string) => ({
	status,
	body: { error: { type: 'request_error', code, detail, documentation_url: `https://developer.paddle.com/errors/shared/${code}` }, meta: { request_id: '00000000-0000-0000-0000-000000000000' } },
});

export async function startPaddleFake(apiKey: string): Promise<FakeServer> {
	return await startFake((req) => {
		const key = bearerToken(req.headers.authorization);
		if (!key) return paddleError(403, 'authentication_missing', 'Authentication header missing.');
		if (key !== apiKey) return paddleError(403, 'invalid_token', 'Invalid or revoked API key.');
		if (req.method === 'GET' && req.path === '/event-types') {
			const type = (name: string, group: string) => ({ name, description: name, group, available_versions: [1] });
			return { status: 200, body: { data: [type('transaction.completed', 'Transaction'), type('adjustment.created', 'Adjustment')], meta: { request_id: '00000000-0000-0000-0000-000000000001' } } };
		}
		return paddleError(404, 'not_found', 'Not found.');
	});
}
