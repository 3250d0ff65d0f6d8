/**
 * The timeout, retries and backoff of a delivery's HTTP call (Notify Buyer's webhook, Mark
 * Shipped's shop call), checked, and the send / ship lease that outlasts them.
 */
import { ValidationError } from '../errors';

/** Longest timeout of one attempt. */
const MAX_TIMEOUT_MS = 300000;

export interface CallOptions {
	/** Per attempt. */
	timeoutMs: number;
	/** Extra attempts after the first. */
	retries: number;
	/** First backoff, doubling each retry. */
	backoffMs: number;
	/** Long enough for every attempt, so no other execution makes the call while this one still may. */
	leaseMs: number;
}

function intOption(field: string, label: string, value: unknown, dflt: number, min: number, max: number): number {
	if (value === undefined || value === null || value === '') return dflt;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
		throw new ValidationError(field, `${label} must be a whole number from ${min} to ${max}.`);
	}
	return n;
}

/**
 * Checks the options in this order, each with a ValidationError naming its field: Timeout (ms)
 * 1..MAX_TIMEOUT_MS (default 10 000), Max Retries 0..`maxRetries` (default 3), Retry Delay (ms)
 * 0..60 000 (default 500). The lease is at least `minLeaseMs`.
 */
export function callOptions(input: { timeoutMs?: unknown; retries?: unknown; backoffMs?: unknown }, maxRetries: number, minLeaseMs: number): CallOptions {
	const timeoutMs = intOption('timeoutMs', 'Timeout (ms)', input.timeoutMs, 10000, 1, MAX_TIMEOUT_MS);
	const retries = intOption('retries', 'Max Retries', input.retries, 3, 0, maxRetries);
	const backoffMs = intOption('backoffMs', 'Retry Delay (ms)', input.backoffMs, 500, 0, 60000);
	// Worst case of callWithRetry: every attempt times out (+1 s abort guard) plus every backoff (+20 % jitter).
	const worst = (retries + 1) * (timeoutMs + 1000) + Math.ceil(backoffMs * (2 ** retries - 1) * 1.2);
	return { timeoutMs, retries, backoffMs, leaseMs: Math.max(minLeaseMs, worst + 30000) };
}
