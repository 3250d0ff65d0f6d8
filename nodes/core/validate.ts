/** Input checks shared by the core: each failure names the field and changes nothing. */
import { ValidationError } from './errors';
import { ID_MAX } from './schema';

export function requireId(field: string, value: unknown, label = field): string {
	if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
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

export function optionalText(field: string, value: unknown, max: number): string | null {
	if (value === undefined || value === null) return null;
	if (typeof value === 'number') value = String(value);
	if (typeof value !== 'string') throw new ValidationError(field, `${field} must be text.`);
	const v = value.trim();
	if (v === '') return null;
	if (v.length > max) throw new ValidationError(field, `${field} is too long (at most ${max} characters).`);
	return v;
}

export function positiveInt(field: string, value: unknown, max: number, label = field): number {
	const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
		throw new ValidationError(field, `${label} must be a whole number of at least 1.`);
	}
	if (n > max) throw new ValidationError(field, `${label} is too large (at most ${max}).`);
	return n;
}

export function optionalAmount(field: string, value: unknown): number | null {
	if (value === undefined || value === null || value === '') return null;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1e12) {
		throw new ValidationError(field, `${field} must be a number of at least 0.`);
	}
	return Math.round(n * 100) / 100;
}

export function optionalNonNegativeInt(field: string, value: unknown): number | null {
	if (value === undefined || value === null || value === '') return null;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
		throw new ValidationError(field, `${field} must be a whole number of at least 0.`);
	}
	return n;
}
