/**
 * Our own format (docs/webhook.md, DESIGN.md §7) as a Platform: the default of Shop Webhook's
 * Platform setting. The shop sends the canonical order JSON and signs it with
 *   X-Timestamp: <unix seconds>
 *   X-Signature: sha256=<hex of HMAC-SHA256(secret, "<X-Timestamp>.<raw body>")>
 * (header names configurable: options `signatureHeader`, `timestampHeader`).
 *
 * `verify` is signature.ts's verifySignature with the failing header named, so the answers are
 * exactly those of the contract. decideWebhook (webhook.ts) reads canonical payloads with the
 * seller's Field Mapping / Event Mapping and keeps the order's own `shop`; `classify` is the
 * unmapped reading of the same JSON (event `order.paid` → paid, `order.refunded` → refunded, any
 * other → 400 like the contract), for callers without a mapping.
 */
import { headerValue } from '../rawBody';
import { parseOrderEvent } from '../order';
import { verifySignature } from '../signature';
import type { CanonicalJson, Classification, Platform, PlatformOptions, VerifyFailure } from './types';

export const DEFAULT_SIGNATURE_HEADER = 'X-Signature';
export const DEFAULT_TIMESTAMP_HEADER = 'X-Timestamp';

const TIMESTAMP_FAILURES: readonly VerifyFailure[] = ['missing_timestamp', 'bad_timestamp', 'expired'];

function headerOption(options: PlatformOptions, key: string, fallback: string): string {
	const v = options[key];
	return typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback;
}

/** The canonical event of an order JSON → paid / refunded, the JSON itself as the order (its `shop` included). */
export function classifyCanonical(body: unknown): Classification {
	const event = parseOrderEvent(body);
	return { kind: event === 'order.paid' ? 'paid' : 'refunded', order: body as CanonicalJson };
}

export const canonical: Platform = {
	id: 'canonical',
	label: 'Canonical JSON (X-Signature)',
	sources: ['docs/webhook.md (this package: the canonical order and its signature)'],
	verify(input) {
		const sigName = headerOption(input.options, 'signatureHeader', DEFAULT_SIGNATURE_HEADER);
		const tsName = headerOption(input.options, 'timestampHeader', DEFAULT_TIMESTAMP_HEADER);
		const r = verifySignature({
			secret: input.secret,
			rawBody: input.rawBody,
			timestampHeader: headerValue(input.headers, tsName),
			signatureHeader: headerValue(input.headers, sigName),
			toleranceSeconds: input.toleranceSeconds,
			now: input.now,
			signatureHeaderName: sigName,
			timestampHeaderName: tsName,
		});
		if (r.ok) return r;
		const field = TIMESTAMP_FAILURES.includes(r.reason) ? tsName : sigName;
		return { ok: false, reason: r.reason, message: r.message, field: field.toLowerCase() };
	},
	classify: (body) => classifyCanonical(body),
};
