/**
 * Shop Webhook's settings (DESIGN.md §7): which events start the workflow, the signature check,
 * the body limits and the field / event mapping. Invalid settings are the seller's configuration
 * problem, not the caller's: `resolveWebhookSettings` throws WebhookConfigError for them.
 */
import { ValidationError } from '../errors';
import type { OrderMapping } from './mapping';
import { DEFAULT_MAX_BODY_BYTES, ORDER_EVENTS, validateMapping, type OrderEvent } from './order';
import { DEFAULT_TOLERANCE_SECONDS } from './signature';

export type EventFilter = OrderEvent | 'any';
export const EVENT_FILTERS: readonly EventFilter[] = ['order.paid', 'order.refunded', 'any'];

/** What a shop event value may be mapped to: a canonical event, or "acknowledge and ignore". */
export type EventMeaning = OrderEvent | 'ignore';

/** order.paid: one item per order line (default) or one item per order. */
export type PaidOutput = 'line' | 'order';

export const DEFAULT_SIGNATURE_HEADER = 'X-Signature';
export const DEFAULT_TIMESTAMP_HEADER = 'X-Timestamp';
export const MAX_TOLERANCE_SECONDS = 86_400;
/** Upper bound for the body size setting (n8n itself refuses bodies over N8N_PAYLOAD_SIZE_MAX, 16 MiB by default). */
export const MAX_BODY_BYTES_LIMIT = 64 * 1024 * 1024;

export interface WebhookSettings {
	/** Which events start the workflow; others are acknowledged with 200 `{ignored: true}`. Default order.paid. */
	events?: EventFilter;
	/** Check X-Signature / X-Timestamp (DESIGN §7). Default true. */
	verifySignature?: boolean;
	/** The shop signing secret; required when verifySignature is on. */
	secret?: string;
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

interface Resolved {
	events: EventFilter;
	verify: boolean;
	secret: string;
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
export function resolveWebhookSettings(s: WebhookSettings): Resolved {
	const events = s.events ?? 'order.paid';
	if (!EVENT_FILTERS.includes(events)) {
		throw new WebhookConfigError('events', 'events must be "order.paid", "order.refunded" or "any".');
	}
	const verify = s.verifySignature !== false;
	const secret = typeof s.secret === 'string' ? s.secret : '';
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

	return {
		events,
		verify,
		secret,
		signatureHeader: headerName('signatureHeader', s.signatureHeader, DEFAULT_SIGNATURE_HEADER),
		timestampHeader: headerName('timestampHeader', s.timestampHeader, DEFAULT_TIMESTAMP_HEADER),
		tolerance,
		maxBodyBytes,
		acceptAny: s.acceptAnyContentType === true,
		mapping: s.mapping,
		eventValues,
		ignoreValues,
		paidOutput,
	};
}
