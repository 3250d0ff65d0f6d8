/**
 * A product's buyer-facing settings (migration 006, column `settings`, JSON — never a secret):
 * what the delivery page, the delay notice and the follow-up show for it.
 */
import { ValidationError } from '../errors';

export interface ProductSettings {
	/** How to use the content (delivery page, templates `{usageGuide}` / `{使用说明}`). */
	usageGuide: string | null;
	/** What to do when something is wrong (templates `{afterSaleNote}` / `{售后说明}`, delivery page). */
	afterSaleNote: string | null;
	/** Recommended products, one per entry (templates `{recommended}` / `{推荐商品}`). */
	recommended: string[];
	/** Send one "we are processing your order" notice when a line of this product waits. */
	delayNotice: boolean;
	/** What the delay notice promises, e.g. "24 hours" / "24 小时" (`{expectedWithin}` / `{预计时间}`). */
	expectedWithin: string | null;
	/** Hours after the send at which the follow-up goes out; null: no follow-up (the default). */
	followUpAfterHours: number | null;
	/** The shop's review page (`{reviewUrl}` / `{评价链接}`). */
	reviewUrl: string | null;
}

export type ProductSettingsInput = { [K in keyof ProductSettings]?: ProductSettings[K] | string | null };

export const DEFAULT_PRODUCT_SETTINGS: Readonly<ProductSettings> = Object.freeze({
	usageGuide: null,
	afterSaleNote: null,
	recommended: [],
	delayNotice: false,
	expectedWithin: null,
	followUpAfterHours: null,
	reviewUrl: null,
});

const TEXT_LIMITS = { usageGuide: 4000, afterSaleNote: 2000, expectedWithin: 100 } as const;

/** Reads the stored JSON; unknown or damaged entries fall back to the defaults. */
export function parseSettings(raw: unknown): ProductSettings {
	if (typeof raw !== 'string' || raw === '') return { ...DEFAULT_PRODUCT_SETTINGS, recommended: [] };
	try {
		const v = JSON.parse(raw) as Partial<ProductSettings>;
		return { ...DEFAULT_PRODUCT_SETTINGS, ...v, recommended: Array.isArray(v.recommended) ? v.recommended.map(String) : [] };
	} catch {
		return { ...DEFAULT_PRODUCT_SETTINGS, recommended: [] };
	}
}

/**
 * Merges a change into the current settings: an absent field keeps its value, null or '' clears
 * it. Throws a ValidationError naming the field for anything that cannot be stored.
 */
export function mergeSettings(current: ProductSettings, input: ProductSettingsInput): ProductSettings {
	const next: ProductSettings = { ...current, recommended: [...current.recommended] };
	for (const field of Object.keys(TEXT_LIMITS) as Array<keyof typeof TEXT_LIMITS>) {
		if (!(field in input) || input[field] === undefined) continue;
		const v = input[field];
		if (v !== null && typeof v !== 'string') throw new ValidationError(field, `${field} must be text.`);
		const text = (v ?? '').trim();
		if (text.length > TEXT_LIMITS[field]) throw new ValidationError(field, `${field} is too long (at most ${TEXT_LIMITS[field]} characters).`);
		next[field] = text === '' ? null : text;
	}
	if (input.recommended !== undefined) {
		const v = input.recommended;
		const list = v === null ? [] : Array.isArray(v) ? v : typeof v === 'string' ? v.split(/\r?\n/) : null;
		if (!list) throw new ValidationError('recommended', 'recommended must be a list of texts (or one per line).');
		const items = list.map((s) => String(s ?? '').trim()).filter((s) => s !== '');
		if (items.length > 10 || items.some((s) => s.length > 300)) {
			throw new ValidationError('recommended', 'recommended holds at most 10 entries of at most 300 characters.');
		}
		next.recommended = items;
	}
	if (input.delayNotice !== undefined && input.delayNotice !== null) {
		const v = input.delayNotice;
		if (typeof v === 'boolean') next.delayNotice = v;
		else if (v === 'true' || v === 'false') next.delayNotice = v === 'true';
		else throw new ValidationError('delayNotice', 'delayNotice must be true or false.');
	}
	if (input.followUpAfterHours !== undefined) {
		const v = input.followUpAfterHours;
		if (v === null || v === '') next.followUpAfterHours = null;
		else {
			const n = typeof v === 'string' ? Number(v.trim()) : v;
			if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 24 * 365) {
				throw new ValidationError('followUpAfterHours', 'followUpAfterHours must be a number of hours above 0 (at most a year), or empty for no follow-up.');
			}
			next.followUpAfterHours = n;
		}
	}
	if (input.reviewUrl !== undefined) {
		const v = input.reviewUrl;
		if (v === null || v === '') next.reviewUrl = null;
		else {
			if (typeof v !== 'string' || !isHttpUrl(v.trim()) || v.trim().length > 2000) {
				throw new ValidationError('reviewUrl', 'reviewUrl must be an http(s) URL.');
			}
			next.reviewUrl = v.trim();
		}
	}
	return next;
}

export function isHttpUrl(s: string): boolean {
	try {
		const u = new URL(s);
		return u.protocol === 'https:' || u.protocol === 'http:';
	} catch {
		return false;
	}
}
