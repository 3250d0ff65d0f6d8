/**
 * JSON that keeps every digit. `JSON.parse` turns a number into a double, so Taobao's 19-digit
 * order ids 2840188394502391201 and 2840188394502391202 both become 2840188394502391300 — the second
 * order is taken for a replay of the first. Parsed here with lossless-json instead:
 *  - a number a double holds exactly stays a number;
 *  - an integer a double cannot hold becomes a string of its exact digits (ids keep them; a count
 *    that large is refused by the validators as too large, never rounded);
 *  - any other number (a fraction with more digits than a double keeps) becomes the nearest double,
 *    as with JSON.parse (amounts and prices are rounded to cents anyway).
 * A key that appears twice in one object with different values throws (ambiguous input).
 * Objects and arrays nested more than MAX_JSON_DEPTH levels deep throw JsonDepthError before
 * parsing: the parser is recursive, and a body of 10,000 `[` would otherwise exhaust the stack
 * (a RangeError that reads like "not JSON"). Real orders nest a handful of levels.
 */
import { isSafeNumber, parse } from 'lossless-json';

const INTEGER = /^-?[0-9]+$/;

function parseNumber(text: string): number | string {
	if (isSafeNumber(text)) return Number(text);
	return INTEGER.test(text) ? text : Number(text);
}

/** Deepest nesting of objects and arrays parseJsonExact reads (see the module comment). */
export const MAX_JSON_DEPTH = 100;

/** The text nests objects / arrays more than MAX_JSON_DEPTH levels deep. */
export class JsonDepthError extends SyntaxError {
	constructor() {
		super(`JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
		this.name = 'JsonDepthError';
	}
}

/** Whether `text` opens more than `max` objects / arrays at once (brackets inside strings do not count). */
function nestsDeeperThan(text: string, max: number): boolean {
	let depth = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 0x5c) i++; // backslash: skip the escaped character
			else if (c === 0x22) inString = false;
		} else if (c === 0x22) inString = true;
		else if (c === 0x7b || c === 0x5b) {
			if (++depth > max) return true;
		} else if (c === 0x7d || c === 0x5d) depth--;
	}
	return false;
}

/** JSON.parse with exact integers (see the module comment). Throws SyntaxError like JSON.parse (JsonDepthError when nested too deeply). */
export function parseJsonExact(text: string): unknown {
	if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new JsonDepthError();
	return parse(text, null, parseNumber);
}

/** A parsed JSON object: not null, not an array. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}
