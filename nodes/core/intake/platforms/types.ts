/**
 * The platform seam (issue: real shops connect with no code). A shop platform is one file in this
 * folder exporting a `Platform`: how the platform signs its webhooks (verify, over the raw body
 * bytes, constant-time), and how its payload becomes the canonical order (classify: paid /
 * refunded / ignore, with the canonical order as plain JSON). Everything after that — validation
 * of the canonical order, Field Mapping overrides, the event filter, the items — is shared and
 * lives in webhook.ts, so a new platform is one file plus its fixtures.
 *
 * No n8n, no I/O: a platform that needs data its webhook does not carry (Stripe's line items,
 * Paddle's customer email) returns `complete`, which the caller runs with a `FetchJson` bound to
 * the platform's API credential.
 */
import type { HeaderMap } from '../rawBody';

export type PlatformId = 'canonical' | 'woocommerce' | 'shopify' | 'stripe' | 'lemonsqueezy' | 'paddle' | 'goofish' | 'youzan' | 'generic';

/** The query parameters of the request URL, as the web server parsed them (a repeated name gives a list). */
export type QueryMap = Record<string, string | string[] | undefined>;

/** Seller settings of one platform (from Shop Webhook's parameters); each platform documents its own keys. */
export type PlatformOptions = Record<string, unknown>;

export interface VerifyInput {
	/** Request headers (any case): read them with headerValue(). */
	headers: HeaderMap;
	/** The query parameters of the request URL (闲管家 signs with `appid`, `timestamp`, `sign` there); none = {}. */
	query?: QueryMap;
	/** The body exactly as received. */
	rawBody: Buffer;
	/** The webhook signing secret from the credential (never echoed in a message). */
	secret: string;
	/**
	 * The public id the platform signs together with the secret (闲管家 AppKey, 有赞 client_id); ''
	 * (or absent) for platforms that sign with the secret alone.
	 */
	appKey?: string;
	/** A second secret some platforms pair with an id sent in the request (闲管家 merchant rule: mch_secret for `mch_id`); none = ''. */
	merchantSecret?: string;
	/** Current time in milliseconds. */
	now: number;
	/** Allowed clock difference in seconds for platforms that sign a timestamp. */
	toleranceSeconds: number;
	options: PlatformOptions;
}

/** Why a request failed verification (answered 401, nothing starts). */
export type VerifyFailure = 'missing_signature' | 'missing_timestamp' | 'bad_timestamp' | 'expired' | 'bad_format' | 'mismatch';

export type VerifyResult =
	| { ok: true }
	| {
			ok: false;
			reason: VerifyFailure;
			/** For the shop's developer; never contains the secret or the expected signature. */
			message: string;
			/** The header at fault, lower case (e.g. `stripe-signature`). */
			field: string;
	  };

/** The canonical order as plain JSON, before validation (order.ts parseOrder validates it). */
export type CanonicalJson = Record<string, unknown>;

/** A GET (or other) call to the platform's API with the seller's API credential; resolves to the parsed JSON answer. */
export type FetchJson = (req: { method?: 'GET' | 'POST'; url: string; query?: Record<string, string>; body?: Record<string, unknown> }) => Promise<unknown>;

export type Classification =
	| {
			kind: 'paid' | 'refunded';
			/** The canonical order (event, orderId, buyer, items, amount, currency, paidAt …) without `shop`: the seam sets it. */
			order: CanonicalJson;
			/** The platform's own event or delivery id, when it has one (logged; idempotency stays (shop, orderId, sku)). */
			eventId?: string;
			/** Fills in what the payload lacks through the platform's API (e.g. Stripe line items). */
			complete?: (fetch: FetchJson) => Promise<CanonicalJson>;
			/**
			 * The payload's own line objects, one per element of `order.items` in the same order (e.g.
			 * WooCommerce `line_items`): Field Mapping's item fields (`items.sku` …) are read from them.
			 * Leave it out when the items are not 1:1 with lines of the payload.
			 */
			lines?: readonly unknown[];
	  }
	| {
			kind: 'ignore';
			/** The platform's event name (shown in the 200 `{ignored: true}` answer). */
			event: string;
			message: string;
			eventId?: string;
	  };

export interface ClassifyContext {
	headers: HeaderMap;
	options: PlatformOptions;
}

export interface Platform {
	id: PlatformId;
	/** Shown in Shop Webhook's Platform dropdown. */
	label: string;
	/** The published pages / official SDK files this preset follows. */
	sources: readonly string[];
	/** The platform signs with an app id and a secret (VerifyInput.appKey must be set). */
	needsAppKey?: boolean;
	/** Content types the platform sends signed events with (default: JSON only). */
	contentTypes?: readonly string[];
	/**
	 * A request the platform sends unsigned that must be answered 200 and start nothing (e.g.
	 * WooCommerce's `webhook_id=…` ping when a webhook is saved). Returns the answer body, or null.
	 */
	ping?(req: { headers: HeaderMap; rawBody: Buffer }): Record<string, unknown> | null;
	/**
	 * Fields the platform needs in a 200 answer to count the call delivered (闲管家: `result:
	 * "success"`, 有赞: `code: 0`); added to the acknowledgement and to the `{ignored: true}` answer.
	 */
	answer?: Readonly<Record<string, unknown>>;
	/**
	 * Checks the seller's options once, when the settings are read: throws ValidationError naming
	 * `platformOptions.<key>` for an unusable one (answered as a configuration error, never as 4xx).
	 */
	checkOptions?(options: PlatformOptions): void;
	verify(input: VerifyInput): VerifyResult;
	/** The payload (parsed with exact digits) → paid / refunded with the canonical order, or ignore. Throws ValidationError for a payload it cannot read. */
	classify(body: unknown, ctx: ClassifyContext): Classification;
}
