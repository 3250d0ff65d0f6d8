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
 */
import { isSafeNumber, parse } from 'lossless-json';

const INTEGER = /^-?[0-9]+$/;

function parseNumber(text: string): number | string {
	if (isSafeNumber(text)) return Number(text);
	return INTEGER.test(text) ? text : Number(text);
}

/** JSON.parse with exact integers (see the module comment). Throws SyntaxError like JSON.parse. */
export function parseJsonExact(text: string): unknown {
	return parse(text, null, parseNumber);
}

/** A parsed JSON object: not null, not an array. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}
