/**
 * Generic HMAC: for a shop that sends its own JSON (read with Shop Webhook's Field Mapping / Event
 * Mapping, exactly as the canonical path — decideWebhook, webhook.ts) but signs it its own way:
 * one header carrying HMAC(secret, signed text), with
 *
 * | option            | values                                              | default       |
 * |-------------------|-----------------------------------------------------|---------------|
 * | `header`          | the signature header                                | `X-Signature` |
 * | `algorithm`       | `sha1`, `sha256`, `sha512`                          | `sha256`      |
 * | `encoding`        | `hex` (either case), `base64`                       | `hex`         |
 * | `prefix`          | text before the digest, e.g. `sha256=` (any case)   | none          |
 * | `signedText`      | `{body}`, `{timestamp}.{body}`, `{timestamp}:{body}` | `{body}`      |
 * | `timestampHeader` | header with unix seconds, checked against Shop Webhook's tolerance | none |
 *
 * `{body}` is the raw body bytes as received. With a timestamp header the time is checked (past
 * and future) even when the signed text does not contain it; `{timestamp}` in the signed text
 * needs the header. This covers, for instance, GitHub-style `X-Hub-Signature-256: sha256=<hex>`
 * over the body, or `X-Signature: <base64>` over `<ts>.<body>`.
 */
import { ValidationError } from '../../errors';
import { headerValue } from '../rawBody';
import { classifyCanonical } from './canonical';
import { DIGEST_ENCODINGS, HMAC_ALGORITHMS, timestampProblem, verifyFailure, verifyHmacHeader } from './hmac';
import { choice } from './read';
import type { Platform, PlatformOptions } from './types';

export const SIGNED_TEXTS = ['{body}', '{timestamp}.{body}', '{timestamp}:{body}'] as const;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerOption(options: PlatformOptions, key: string, fallback: string): string {
	const v = options[key];
	if (v === undefined || v === null || v === '') return fallback;
	if (typeof v === 'string' && HEADER_NAME.test(v.trim())) return v.trim();
	throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be an HTTP header name such as X-Signature.`);
}

/** The generic options, checked (ValidationError naming `platformOptions.<key>`). */
export function genericOptions(options: PlatformOptions) {
	const prefix = options.prefix ?? '';
	if (typeof prefix !== 'string' || prefix.length > 32 || /[\s\u0000-\u001f]/.test(prefix)) {
		throw new ValidationError('platformOptions.prefix', 'platformOptions.prefix must be up to 32 characters without spaces, such as "sha256=".');
	}
	const o = {
		header: headerOption(options, 'header', 'X-Signature'),
		algorithm: choice(options, 'algorithm', HMAC_ALGORITHMS, 'sha256'),
		encoding: choice(options, 'encoding', DIGEST_ENCODINGS, 'hex'),
		prefix,
		signedText: choice(options, 'signedText', SIGNED_TEXTS, '{body}'),
		timestampHeader: headerOption(options, 'timestampHeader', ''),
	};
	if (o.signedText !== '{body}' && o.timestampHeader === '') {
		throw new ValidationError('platformOptions.timestampHeader', `platformOptions.signedText "${o.signedText}" needs platformOptions.timestampHeader (the header with the unix time).`);
	}
	return o;
}

export const generic: Platform = {
	id: 'generic',
	label: 'Generic HMAC (own JSON, Field Mapping)',
	sources: ['RFC 2104 (HMAC); the signature scheme is set by the seller'],
	checkOptions: (options) => void genericOptions(options),
	verify(input) {
		const o = genericOptions(input.options);
		const ts = o.timestampHeader === '' ? '' : (headerValue(input.headers, o.timestampHeader) ?? '').trim();
		const separator = o.signedText === '{timestamp}:{body}' ? ':' : '.';
		return verifyHmacHeader({
			headers: input.headers,
			header: o.header,
			signer: 'the sender',
			secret: input.secret,
			algorithm: o.algorithm,
			encoding: o.encoding,
			prefix: o.prefix,
			signed: o.signedText === '{body}' ? [input.rawBody] : [ts, separator, input.rawBody],
			before:
				o.timestampHeader === ''
					? undefined
					: () =>
							ts === ''
								? verifyFailure('missing_timestamp', o.timestampHeader, `The ${o.timestampHeader} header is missing: a signed request must carry its time in unix seconds.`)
								: timestampProblem(ts, o.timestampHeader, input.toleranceSeconds, input.now),
		});
	},
	classify: (body) => classifyCanonical(body),
};
