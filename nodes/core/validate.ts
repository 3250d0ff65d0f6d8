/** Input checks shared by the core: each failure names the field and changes nothing. */
import { ValidationError } from './errors';

/** Longest sku / order id we accept; 191 keeps utf8mb4 index prefixes inside MySQL's limits. */
export const ID_MAX = 191;

/** A JavaScript number as text (numbers too large for a double never get here: json.ts keeps their digits as text). */
function numberText(value: unknown): string | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/**
 * An identifier (order id, sku, buyer id, line id): text, or a JSON number kept to its exact digits.
 * Identifiers are compared byte-exactly everywhere (binary collation on MySQL/MariaDB).
 */
export function requireId(field: string, value: unknown, label = field): string {
	value = numberText(value) ?? value;
	if (typeof value !== 'string' || value.trim() === '') {
		throw new ValidationError(field, `${label} is required.`);
	}
	const v = value.trim();
	if (v.length > ID_MAX) {
		throw new ValidationError(field, `${label} is too long (${v.length} characters, at most ${ID_MAX}).`);
	}
	if (/[\u0000-\u001f\u007f]/.test(v)) {
		throw new ValidationError(field, `${label} contains control characters.`);
	}
	return v;
}

/**
 * The shop of an order: part of its identity `(shop, orderId, sku)`. Orders without a shop belong
 * to the default shop, stored as '' (never NULL, so the unique delivery row covers them too).
 */
export const DEFAULT_SHOP = '';

export function shopId(value: unknown, field = 'shop', label = 'Shop'): string {
	if (value === undefined || value === null) return DEFAULT_SHOP;
	value = numberText(value) ?? value;
	if (typeof value !== 'string') throw new ValidationError(field, `${label} must be text.`);
	if (value.trim() === '') return DEFAULT_SHOP;
	return requireId(field, value, label);
}

export function optionalText(field: string, value: unknown, max: number): string | null {
	if (value === undefined || value === null) return null;
	value = numberText(value) ?? value;
	if (typeof value !== 'string') throw new ValidationError(field, `${field} must be text.`);
	const v = value.trim();
	if (v === '') return null;
	if (v.length > max) throw new ValidationError(field, `${field} is too long (at most ${max} characters).`);
	return v;
}

/** Text a shop may send for a count: decimal digits only (no sign, hex, exponent or fraction). */
const DECIMAL_DIGITS = /^[0-9]+$/;

export function positiveInt(field: string, value: unknown, max: number, label = field): number {
	let n = value;
	if (typeof value === 'string') {
		const v = value.trim();
		if (!DECIMAL_DIGITS.test(v)) throw new ValidationError(field, `${label} must be a whole number of at least 1, written in decimal digits.`);
		n = v.length > 15 ? Number.MAX_SAFE_INTEGER : Number(v);
	}
	if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
		throw new ValidationError(field, `${label} must be a whole number of at least 1.`);
	}
	if (n > max) throw new ValidationError(field, `${label} is too large (at most ${max}).`);
	return n;
}

/** A decimal number as text: digits with an optional fraction (no hex, exponent or sign). */
const DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/;

export function optionalAmount(field: string, value: unknown): number | null {
	if (value === undefined || value === null || value === '') return null;
	let n: unknown = value;
	if (typeof value === 'string') n = DECIMAL.test(value.trim()) ? Number(value.trim()) : NaN;
	if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1e12) {
		throw new ValidationError(field, `${field} must be a number of at least 0.`);
	}
	return Math.round(n * 100) / 100;
}

export function optionalNonNegativeInt(field: string, value: unknown): number | null {
	if (value === undefined || value === null || value === '') return null;
	let n: unknown = value;
	if (typeof value === 'string') n = DECIMAL_DIGITS.test(value.trim()) ? Number(value.trim()) : NaN;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
		throw new ValidationError(field, `${field} must be a whole number of at least 0.`);
	}
	return n;
}
