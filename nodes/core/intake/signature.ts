/**
 * Webhook signatures (DESIGN.md §7).
 *
 * The shop sends two headers:
 *   X-Timestamp: <unix seconds>
 *   X-Signature: sha256=<hex>      hex = HMAC-SHA256(signing secret, `<timestamp>.<raw body>`)
 *
 * The raw body must be the exact bytes received (not re-serialised JSON). Verification compares in
 * constant time and rejects timestamps further than `toleranceSeconds` (default 300) from now, in
 * the past or in the future. Failure messages are written for sellers and never contain the secret
 * or the expected signature.
 */
import { createHmac, timingSafeEqual } from 'crypto';

export const DEFAULT_TOLERANCE_SECONDS = 300;

export type SignatureFailureReason =
	| 'missing_signature'
	| 'missing_timestamp'
	| 'bad_timestamp'
	| 'expired'
	| 'bad_format'
	| 'mismatch';

export type SignatureResult =
	| { ok: true }
	| { ok: false; reason: SignatureFailureReason; message: string };

export interface VerifySignatureOptions {
	/** The shop signing secret (from the credential). */
	secret: string;
	/** The request body exactly as received. */
	rawBody: Buffer | string;
	/** Value of the X-Timestamp header (unix seconds). */
	timestampHeader: string | undefined;
	/** Value of the X-Signature header (`sha256=<hex>`). */
	signatureHeader: string | undefined;
	/** Allowed clock difference in seconds, past or future. Default 300. */
	toleranceSeconds?: number;
	/** Current time in milliseconds (for tests). Default Date.now(). */
	now?: number;
	/** Header names used in failure messages when the shop uses other headers. Default X-Signature. */
	signatureHeaderName?: string;
	/** Default X-Timestamp. */
	timestampHeaderName?: string;
}

function assertSecret(secret: unknown): asserts secret is string {
	if (typeof secret !== 'string' || secret === '') {
		// A configuration problem, not a bad request: thrown so it is never mistaken for a forged call.
		throw new Error('No webhook signing secret is configured: set it in the shop credential.');
	}
}

function hmacHex(secret: string, timestamp: string, rawBody: Buffer | string): string {
	const h = createHmac('sha256', secret);
	h.update(`${timestamp}.`, 'utf8');
	if (typeof rawBody === 'string') h.update(rawBody, 'utf8');
	else h.update(rawBody);
	return h.digest('hex');
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${rawBody}`). Throws if the secret is empty. */
export function signPayload(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
	assertSecret(secret);
	return `sha256=${hmacHex(secret, String(timestamp), rawBody)}`;
}

function fail(reason: SignatureFailureReason, message: string): SignatureResult {
	return { ok: false, reason, message };
}

/**
 * Checks the X-Timestamp / X-Signature headers of a webhook call.
 * Returns `{ ok: true }` or `{ ok: false, reason, message }`; throws only when no secret is configured.
 */
export function verifySignature(opts: VerifySignatureOptions): SignatureResult {
	assertSecret(opts.secret);
	const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
	if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
		throw new Error('The signature tolerance must be a number of seconds of at least 0.');
	}
	const now = opts.now ?? Date.now();
	const sigName = opts.signatureHeaderName || 'X-Signature';
	const tsName = opts.timestampHeaderName || 'X-Timestamp';

	const sigHeader = typeof opts.signatureHeader === 'string' ? opts.signatureHeader.trim() : '';
	if (sigHeader === '') {
		return fail(
			'missing_signature',
			`The ${sigName} header is missing: the request was not signed, so it was rejected.`,
		);
	}
	const tsHeader = typeof opts.timestampHeader === 'string' ? opts.timestampHeader.trim() : '';
	if (tsHeader === '') {
		return fail(
			'missing_timestamp',
			`The ${tsName} header is missing: a signed request must carry its time in unix seconds.`,
		);
	}
	if (!/^\d{1,12}$/.test(tsHeader)) {
		const hint = /^\d{13,}$/.test(tsHeader) ? ' (it looks like milliseconds; send seconds)' : '';
		return fail(
			'bad_timestamp',
			`The ${tsName} header is not a unix time in whole seconds${hint}.`,
		);
	}
	const ts = Number(tsHeader);
	const skew = Math.round(now / 1000 - ts);
	if (Math.abs(skew) > tolerance) {
		const when = skew > 0 ? `${skew} seconds old` : `${-skew} seconds in the future`;
		return fail(
			'expired',
			`The request timestamp is ${when}; at most ${tolerance} seconds are allowed. ` +
				'It may be a replayed request, or the shop server clock is wrong.',
		);
	}

	const m = /^sha256=([0-9a-f]+)$/i.exec(sigHeader);
	if (!m) {
		return fail(
			'bad_format',
			`The ${sigName} header is not in the form "sha256=<hex>".`,
		);
	}
	const given = Buffer.from(m[1].toLowerCase(), 'utf8');
	const expected = Buffer.from(hmacHex(opts.secret, tsHeader, opts.rawBody), 'utf8');
	const same = given.length === expected.length && timingSafeEqual(given, expected);
	if (!same) {
		return fail(
			'mismatch',
			'The signature does not match: the body was changed, or the shop signs with a different secret.',
		);
	}
	return { ok: true };
}
