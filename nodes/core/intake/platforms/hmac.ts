/**
 * HMAC helpers every platform preset shares: the digest over the raw body bytes, strict decoding
 * of the signature a platform sends (hex or base64), a constant-time comparison
 * (crypto.timingSafeEqual, after a length check), the unix-seconds timestamp check, and the whole
 * "one header carries an HMAC of the body" check that WooCommerce, Shopify and Generic HMAC use.
 *
 * Failure messages name the header and never contain the secret or the expected signature.
 */
import { createHmac, timingSafeEqual } from 'crypto';

import { headerValue, type HeaderMap } from '../rawBody';
import type { VerifyFailure, VerifyResult } from './types';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export const HMAC_ALGORITHMS: readonly HmacAlgorithm[] = ['sha1', 'sha256', 'sha512'];

export type DigestEncoding = 'hex' | 'base64';
export const DIGEST_ENCODINGS: readonly DigestEncoding[] = ['hex', 'base64'];

/** HMAC(secret, parts joined) as bytes; text parts are UTF-8, Buffers are taken as they are. */
export function hmacBytes(algorithm: HmacAlgorithm, secret: string, parts: ReadonlyArray<string | Buffer>): Buffer {
	const h = createHmac(algorithm, secret);
	for (const part of parts) {
		if (typeof part === 'string') h.update(part, 'utf8');
		else h.update(part);
	}
	return h.digest();
}

const HEX = /^(?:[0-9a-f]{2})+$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of a signature sent as hex or (standard, padded) base64; null when it is not that encoding. */
export function decodeDigest(text: string, encoding: DigestEncoding): Buffer | null {
	if (text === '') return null;
	if (encoding === 'hex') return HEX.test(text) ? Buffer.from(text, 'hex') : null;
	return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/** Constant-time equality of two byte strings (false at once when the lengths differ: a length is no secret). */
export function sameBytes(given: Buffer, expected: Buffer): boolean {
	return given.length === expected.length && timingSafeEqual(given, expected);
}

export function verifyFailure(reason: VerifyFailure, field: string, message: string): VerifyResult {
	return { ok: false, reason, message, field: field.toLowerCase() };
}

const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

/**
 * A unix time in whole seconds within `toleranceSeconds` of `now` (ms), past or future. Returns
 * null when it is fine, else the failure (a millisecond value is recognised and named).
 */
export function timestampProblem(value: string, header: string, toleranceSeconds: number, now: number): VerifyResult | null {
	if (!/^\d{1,12}$/.test(value)) {
		const hint = /^\d{13,}$/.test(value) ? ' (it looks like milliseconds; send seconds)' : '';
		return verifyFailure('bad_timestamp', header, `The ${header} header is not a unix time in whole seconds${hint}.`);
	}
	const skew = Math.round(now / 1000 - Number(value));
	if (Math.abs(skew) <= toleranceSeconds) return null;
	const when = skew > 0 ? `${skew} seconds old` : `${-skew} seconds in the future`;
	return verifyFailure(
		'expired',
		header,
		`The request timestamp is ${when}; at most ${toleranceSeconds} seconds are allowed. It may be a replayed request, or the sender's clock is wrong.`,
	);
}

export interface HmacHeaderCheck {
	headers: HeaderMap;
	/** The header that carries the signature, as the platform spells it (used in messages). */
	header: string;
	/** Who signs, for the mismatch message: "WooCommerce", "Shopify", "the sender". */
	signer: string;
	secret: string;
	algorithm: HmacAlgorithm;
	encoding: DigestEncoding;
	/** Text before the digest in the header (`sha256=`), compared case-insensitively; '' for none. */
	prefix?: string;
	/** What is signed, in order (e.g. `[timestamp, '.', rawBody]`). */
	signed: ReadonlyArray<string | Buffer>;
	/** Runs after the signature header was found and before its format is checked (e.g. a timestamp check). */
	before?: () => VerifyResult | null;
}

/** The signature header is present, well-formed and equal (constant time) to HMAC(secret, signed). */
export function verifyHmacHeader(c: HmacHeaderCheck): VerifyResult {
	const value = (headerValue(c.headers, c.header) ?? '').trim();
	if (value === '') {
		return verifyFailure('missing_signature', c.header, `The ${c.header} header is missing: the request was not signed, so it was rejected.`);
	}
	const early = c.before?.();
	if (early) return early;
	const prefix = c.prefix ?? '';
	const shape = `${prefix === '' ? '' : `"${prefix}" followed by `}a ${c.encoding} HMAC-${c.algorithm.toUpperCase()} digest`;
	const hasPrefix = value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
	const given = hasPrefix ? decodeDigest(value.slice(prefix.length), c.encoding) : null;
	if (given === null || given.length !== DIGEST_BYTES[c.algorithm]) {
		return verifyFailure('bad_format', c.header, `The ${c.header} header is not ${shape}.`);
	}
	if (!sameBytes(given, hmacBytes(c.algorithm, c.secret, c.signed))) {
		return verifyFailure(
			'mismatch',
			c.header,
			`The signature does not match: the body was changed, or ${c.signer} signs with a different secret.`,
		);
	}
	return { ok: true };
}
