/**
 * Requests to Shop Webhook's decision for the platform preset tests (test/unit/platforms/*):
 * fixture bytes, a POST with headers, an HMAC computed with Node's crypto directly (never with
 * the code under test; each test file anchors it to its openssl vectors), and checks of the
 * decision that also make sure no answer carries the signing secret.
 */
import { createHmac } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

import {
	decideShopWebhook,
	type ShopWebhookDecision,
	type WebhookDecision,
	type WebhookRequest,
	type WebhookSettings,
} from '../../nodes/core/intake';

/** The exact bytes of `test/fixtures/platforms/<platform>/<name>`. */
export function fixtureBytes(platform: string, name: string): Buffer {
	return readFileSync(join(__dirname, '../fixtures/platforms', platform, name));
}

/** The fixture with `from` replaced by `to` in its text (raw bytes, no re-serialising: digits stay exact). */
export function edited(bytes: Buffer, from: string, to: string): Buffer {
	const text = bytes.toString('utf8');
	if (!text.includes(from)) throw new Error(`fixture has no "${from}"`);
	return Buffer.from(text.split(from).join(to), 'utf8');
}

/** HMAC of `parts` with Node's crypto (independent of nodes/core), in `encoding`. */
export function hmacOf(algorithm: 'sha1' | 'sha256' | 'sha512', secret: string, parts: Array<string | Buffer>, encoding: 'hex' | 'base64'): string {
	const h = createHmac(algorithm, secret);
	for (const p of parts) h.update(p);
	return h.digest(encoding);
}

export function post(body: Buffer | string, headers: Record<string, string>, now?: number): WebhookRequest {
	return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, rawBody: body, now };
}

/** decideShopWebhook, checking that the answer contains no piece of the secret. */
export function decide(req: WebhookRequest, settings: WebhookSettings): ShopWebhookDecision {
	const d = decideShopWebhook(req, settings);
	if (settings.secret) expect(JSON.stringify(d)).not.toContain(settings.secret);
	return d;
}

type Of<A extends ShopWebhookDecision['action']> = Extract<ShopWebhookDecision, { action: A }>;

/** The decision is `action` (and, for an answer, `status`); returns it narrowed. */
export function expectAction<A extends ShopWebhookDecision['action']>(d: ShopWebhookDecision, action: A, status?: number): Of<A> {
	if (d.action !== action) throw new Error(`expected ${action}${status === undefined ? '' : ` ${status}`}, got ${JSON.stringify(d)}`);
	if (status !== undefined) expect((d as WebhookDecision & { status?: number }).status).toBe(status);
	return d as Of<A>;
}

/** A 401 with this `reason` on this header field; returns the answer body. */
export function expectUnauthorized(d: ShopWebhookDecision, reason: string, field: string) {
	const r = expectAction(d, 'reject', 401);
	expect(r.body).toMatchObject({ reason, field });
	return r.body;
}
