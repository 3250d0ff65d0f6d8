/**
 * Shop Webhook's settings (DESIGN.md §7): the platform, which events start the workflow, the
 * signature check, the body limits and the field / event mapping. Invalid settings are the
 * seller's configuration problem, not the caller's: `resolveWebhookSettings` throws
 * WebhookConfigError for them.
 */
import { ID_MAX } from '../validate';
import { ValidationError } from '../errors';
import type { OrderMapping } from './mapping';
import { DEFAULT_MAX_BODY_BYTES, ORDER_EVENTS, validateMapping, type OrderEvent } from './order';
import { DEFAULT_SIGNATURE_HEADER, DEFAULT_TIMESTAMP_HEADER } from './platforms/canonical';
import { isPreset, platformFor, PLATFORMS, shopFor, type Platform, type PlatformId, type PlatformOptions } from './platforms';
import { DEFAULT_TOLERANCE_SECONDS } from './signature';

export { DEFAULT_SIGNATURE_HEADER, DEFAULT_TIMESTAMP_HEADER };

export type EventFilter = OrderEvent | 'any';
export const EVENT_FILTERS: readonly EventFilter[] = ['order.paid', 'order.refunded', 'any'];

/** What a shop event value may be mapped to: a canonical event, or "acknowledge and ignore". */
export type EventMeaning = OrderEvent | 'ignore';

/** order.paid: one item per order line (default) or one item per order. */
export type PaidOutput = 'line' | 'order';

export const MAX_TOLERANCE_SECONDS = 86_400;
/** Upper bound for the body size setting (n8n itself refuses bodies over N8N_PAYLOAD_SIZE_MAX, 16 MiB by default). */
export const MAX_BODY_BYTES_LIMIT = 64 * 1024 * 1024;

export interface WebhookSettings {
	/**
	 * How the shop signs and what it sends (platforms/index.ts PLATFORMS). Default `canonical`: our
	 * own JSON and X-Signature, read with mapping / eventValues. `generic`: the same reading with
	 * the signature scheme of `platformOptions` (platforms/generic.ts). Any other is a preset: the
	 * platform reads its own payload; `mapping` may still override single fields from it.
	 */
	platform?: PlatformId;
	/** Presets: the store's name; its orders belong to the shop `<platform>:<shopName>` (required for a preset). */
	shopName?: string;
	/** The platform's own options (each platform file documents its keys). For canonical, use signatureHeader / timestampHeader. */
	platformOptions?: PlatformOptions;
	/** Which events start the workflow; others are acknowledged with 200 `{ignored: true}`. Default order.paid. */
	events?: EventFilter;
	/** Check X-Signature / X-Timestamp (DESIGN §7). Default true. */
	verifySignature?: boolean;
	/** The shop signing secret; required when verifySignature is on. */
	secret?: string;
	/** The public id signed with the secret (闲管家 AppKey, 有赞 client_id): required by the platforms that sign with one. */
	appKey?: string;
	/** 闲管家 merchant rule: the merchant secret paired with the request's `mch_id`. */
	merchantSecret?: string;
	/** Default X-Signature. */
	signatureHeader?: string;
	/** Default X-Timestamp. */
	timestampHeader?: string;
	/** Allowed clock difference in seconds, past or future. Default 300. */
	toleranceSeconds?: number;
	/** Largest accepted body in bytes. Default 1,000,000. */
	maxBodyBytes?: number;
	/** Parse the body as JSON whatever its Content-Type says. Default false. */
	acceptAnyContentType?: boolean;
	/** Canonical field → path in the shop's JSON (see mapping.ts OrderMapping). */
	mapping?: OrderMapping;
	/** Shop event values → canonical event, or 'ignore' (answered 200 `{ignored: true}`). */
	eventValues?: Record<string, EventMeaning>;
	/** Default 'line'. */
	paidOutput?: PaidOutput;
}

/** The node's settings are unusable (not the caller's fault): fix the node or the credential. */
export class WebhookConfigError extends Error {
	/** The setting at fault, e.g. `secret`, `mapping.orderId`, `signatureHeader`. */
	readonly setting: string;
	constructor(setting: string, message: string) {
		super(message);
		this.name = 'WebhookConfigError';
		this.setting = setting;
	}
}

// ---------------------------------------------------------------------------------------------
// Settings

export interface ResolvedWebhookSettings {
	platform: Platform;
	/** `<platform>:<shopName>` for a preset; null for canonical / generic (the order's own shop). */
	shop: string | null;
	/** What platform.verify / classify get: the canonical headers for canonical, else the seller's platformOptions. */
	platformOptions: PlatformOptions;
	events: EventFilter;
	verify: boolean;
	secret: string;
	appKey: string;
	merchantSecret: string;
	signatureHeader: string;
	timestampHeader: string;
	tolerance: number;
	maxBodyBytes: number;
	acceptAny: boolean;
	mapping: OrderMapping | undefined;
	eventValues: Record<string, OrderEvent>;
	ignoreValues: Set<string>;
	paidOutput: PaidOutput;
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerName(setting: string, value: unknown, fallback: string): string {
	if (value === undefined || value === null || value === '') return fallback;
	const name = typeof value === 'string' ? value.trim() : '';
	if (!HEADER_TOKEN.test(name)) {
		throw new WebhookConfigError(setting, `${setting} must be an HTTP header name such as ${fallback}.`);
	}
	return name;
}

/** Validates the settings; throws WebhookConfigError. Exported for the node (check once) and tests. */
export function resolveWebhookSettings(s: WebhookSettings): ResolvedWebhookSettings {
	const events = s.events ?? 'order.paid';
	if (!EVENT_FILTERS.includes(events)) {
		throw new WebhookConfigError('events', 'events must be "order.paid", "order.refunded" or "any".');
	}
	const verify = s.verifySignature !== false;
	const secret = typeof s.secret === 'string' ? s.secret : '';
	const paired = platformFor(s.platform ?? 'canonical');
	if (verify && paired?.needsAppKey && (secret.trim() === '' || (s.appKey ?? '').trim() === '')) {
		throw new WebhookConfigError(
			secret.trim() === '' ? 'secret' : 'appKey',
			`${paired.label} signs its calls with an app id and a secret: set both in the Auto Delivery Shop API credential (Platform ${paired.label}), or turn off "Verify Signature".`,
		);
	}
	if (verify && secret.trim() === '') {
		throw new WebhookConfigError(
			'secret',
			'Signature checking is on but no webhook signing secret is configured: set "Webhook Signing Secret" in the Auto Delivery Shop API credential (or turn off "Verify Signature").',
		);
	}
	const tolerance = s.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
	if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_TOLERANCE_SECONDS) {
		throw new WebhookConfigError('toleranceSeconds', `The signature tolerance must be between 0 and ${MAX_TOLERANCE_SECONDS} seconds.`);
	}
	const maxBodyBytes = s.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
		throw new WebhookConfigError('maxBodyBytes', `The maximum body size must be a whole number of bytes between 1 and ${MAX_BODY_BYTES_LIMIT}.`);
	}
	const paidOutput = s.paidOutput ?? 'line';
	if (paidOutput !== 'line' && paidOutput !== 'order') {
		throw new WebhookConfigError('paidOutput', 'paidOutput must be "line" or "order".');
	}

	const eventValues: Record<string, OrderEvent> = {};
	const ignoreValues = new Set<string>();
	for (const [rawKey, meaning] of Object.entries(s.eventValues ?? {})) {
		const key = rawKey.trim();
		if (key === '') throw new WebhookConfigError('eventValues', 'An event mapping has an empty shop event value.');
		if (meaning === 'ignore') ignoreValues.add(key);
		else if ((ORDER_EVENTS as readonly string[]).includes(meaning)) eventValues[key] = meaning as OrderEvent;
		else {
			throw new WebhookConfigError(
				`eventValues.${key}`,
				`The event mapping for "${key}" must be order.paid, order.refunded or ignore.`,
			);
		}
	}
	try {
		validateMapping({ mapping: s.mapping, eventValues });
	} catch (e) {
		if (e instanceof ValidationError) throw new WebhookConfigError(e.field, `Field mapping: ${e.message}`);
		throw e;
	}

	const signatureHeader = headerName('signatureHeader', s.signatureHeader, DEFAULT_SIGNATURE_HEADER);
	const timestampHeader = headerName('timestampHeader', s.timestampHeader, DEFAULT_TIMESTAMP_HEADER);
	const platform = resolvePlatform(s, eventValues, ignoreValues);
	const appKey = typeof s.appKey === 'string' ? s.appKey.trim() : '';
	return {
		platform,
		shop: shopFor(platform, s.shopName ?? ''),
		platformOptions: platform.id === 'canonical' ? { signatureHeader, timestampHeader } : { ...(s.platformOptions ?? {}) },
		events,
		verify,
		secret,
		appKey,
		merchantSecret: typeof s.merchantSecret === 'string' ? s.merchantSecret : '',
		signatureHeader,
		timestampHeader,
		tolerance,
		maxBodyBytes,
		acceptAny: s.acceptAnyContentType === true,
		mapping: s.mapping,
		eventValues,
		ignoreValues,
		paidOutput,
	};
}

/** Fields a preset sets itself: mapping them would contradict the platform. */
const PRESET_OWNED = ['event', 'shop'] as const;

/** The platform, its options and, for a preset, its Shop Name; throws WebhookConfigError. */
function resolvePlatform(s: WebhookSettings, eventValues: Record<string, OrderEvent>, ignoreValues: Set<string>): Platform {
	const platform = platformFor(s.platform ?? 'canonical');
	if (!platform) {
		throw new WebhookConfigError('platform', `platform must be one of ${PLATFORMS.map((p) => `"${p.id}"`).join(', ')}.`);
	}
	if (s.platformOptions !== undefined && (typeof s.platformOptions !== 'object' || s.platformOptions === null || Array.isArray(s.platformOptions))) {
		throw new WebhookConfigError('platformOptions', 'platformOptions must be an object.');
	}
	try {
		platform.checkOptions?.(s.platformOptions ?? {});
	} catch (e) {
		if (e instanceof ValidationError) throw new WebhookConfigError(e.field, `${platform.label}: ${e.message}`);
		throw e;
	}
	if (!isPreset(platform)) return platform;
	for (const key of PRESET_OWNED) {
		if (s.mapping?.[key] !== undefined) {
			throw new WebhookConfigError(`mapping.${key}`, `Field Mapping "${key}" cannot be used with ${platform.label}: the platform sets the ${key === 'event' ? 'event' : 'shop (from Shop Name)'}.`);
		}
	}
	if (Object.keys(eventValues).length + ignoreValues.size > 0) {
		throw new WebhookConfigError('eventValues', `Event Mapping cannot be used with ${platform.label}: the platform decides which of its events are paid or refunded orders.`);
	}
	const name = typeof s.shopName === 'string' ? s.shopName.trim() : '';
	if (name === '') {
		throw new WebhookConfigError('shopName', `Shop Name is required with ${platform.label}: its orders belong to the shop "${platform.id}:<Shop Name>", which keeps two stores apart.`);
	}
	if (platform.id.length + 1 + name.length > ID_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
		throw new WebhookConfigError('shopName', `Shop Name must be at most ${ID_MAX - platform.id.length - 1} characters without control characters.`);
	}
	return platform;
}
