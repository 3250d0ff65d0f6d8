/**
 * Turning an uploaded key file (TXT or CSV, any common encoding) into a list of keys.
 *
 * Pure: no n8n imports. Only trims and drops blank entries; it never deduplicates or validates key
 * content (the store does that). Error messages never contain key contents (keys are secrets):
 * they name line numbers and column names only.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import * as iconv from 'iconv-lite';

import { maskKey } from '../secrets/redact';
import { ValidationError } from '../errors';
import { TextDecoder } from 'util';

export type KeyFileFormat = 'txt' | 'csv';
export type TextEncoding = 'auto' | 'utf8' | 'utf16le' | 'gbk';

export interface ParseKeysOptions {
	/** default 'txt' */
	format?: KeyFileFormat;
	/** default 'auto' (applies to Buffer input) */
	encoding?: TextEncoding;
	/** csv only: 1-based column number, or header name when hasHeader; default 1 */
	column?: number | string;
	/** csv only: first row is a header (skipped); default false */
	hasHeader?: boolean;
	/** csv only: default ','; accepts '\t' / 'tab' / ';' / '|' (and any other single character) */
	delimiter?: string;
}

export interface ParsedKeys {
	/** trimmed, non-empty keys in file order (duplicates kept) */
	keys: string[];
	/** lines (TXT) or data rows (CSV) that were empty after trimming */
	blank: number;
	/** keys.length + blank: lines (TXT) or rows other than the header row (CSV; a quoted value may span lines) */
	lines: number;
}

/** The key file cannot be read. The message is meant for the seller and never contains a key. */
/** A file that cannot be read as keys: a ValidationError on the field `file`, so nothing is imported. */
export class KeyParseError extends ValidationError {
	constructor(message: string) {
		super('file', message);
		this.name = 'KeyParseError';
	}
}

const ENCODINGS: readonly TextEncoding[] = ['auto', 'utf8', 'utf16le', 'gbk'];
/** GB18030 is a strict superset of GBK (same bytes decode to the same text); it also covers the rare 4-byte sequences. */
const GBK_DECODER = 'gb18030';

function hasPrefix(buf: Uint8Array, ...bytes: number[]): boolean {
	if (buf.length < bytes.length) return false;
	for (let i = 0; i < bytes.length; i++) if (buf[i] !== bytes[i]) return false;
	return true;
}

function toBuffer(input: Uint8Array): Buffer {
	return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Decodes a file's bytes to text. 'auto': BOM first (UTF-8, UTF-16LE, UTF-16BE), else UTF-8 if valid, else GBK. */
export function decodeText(input: Buffer, encoding: TextEncoding = 'auto'): string {
	const buf = toBuffer(input);
	switch (encoding) {
		case 'utf8':
			return buf.toString('utf8', hasPrefix(buf, 0xef, 0xbb, 0xbf) ? 3 : 0);
		case 'utf16le':
			return buf.toString('utf16le', hasPrefix(buf, 0xff, 0xfe) ? 2 : 0);
		case 'gbk':
			return iconv.decode(buf, GBK_DECODER, { stripBOM: true });
		case 'auto':
			break;
		default:
			throw new KeyParseError(
				`Unknown text encoding "${String(encoding)}". Choose one of: ${ENCODINGS.join(', ')}.`,
			);
	}
	if (hasPrefix(buf, 0xef, 0xbb, 0xbf)) return buf.toString('utf8', 3);
	if (hasPrefix(buf, 0xff, 0xfe)) return buf.toString('utf16le', 2);
	if (hasPrefix(buf, 0xfe, 0xff)) return iconv.decode(buf.subarray(2), 'utf16-be', { stripBOM: false });
	try {
		// fatal: throws on the first invalid byte sequence; ignoreBOM keeps a (non-leading-checked) BOM as text
		return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
	} catch {
		return iconv.decode(buf, GBK_DECODER, { stripBOM: true });
	}
}

/** Splits a key file into keys. Throws KeyParseError when the file cannot be read as asked. */
export interface KeySource {
	/** The keys to hand to KeyStore.importKeys (which trims, counts blanks and skips them). */
	keys: Iterable<string>;
	/** Blank entries already dropped here (CSV cells); TXT blanks are counted by the import. */
	blank: number;
}

/**
 * Like parseKeys, but TXT lines are produced lazily, one at a time, so a 1M-line file never
 * exists as a second, array-shaped copy in memory during the import.
 */
export function readKeys(input: string | Buffer, options: ParseKeysOptions = {}): KeySource {
	if ((options.format ?? 'txt') !== 'txt') {
		const parsed = parseKeys(input, options);
		return { keys: parsed.keys, blank: parsed.blank };
	}
	const text = toText(input, options);
	return { keys: txtLines(text), blank: 0 };
}

function* txtLines(text: string): Generator<string> {
	const n = text.length;
	let start = 0;
	while (start < n) {
		let end = start;
		while (end < n) {
			const c = text.charCodeAt(end);
			if (c === 10 || c === 13) break;
			end++;
		}
		yield text.slice(start, end);
		if (end < n && text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10) end++;
		start = end + 1;
	}
}

function toText(input: string | Buffer, options: ParseKeysOptions): string {
	let text: string;
	if (typeof input === 'string') {
		text = input;
	} else if (input instanceof Uint8Array) {
		rejectSpreadsheetBinary(input);
		text = decodeText(input, options.encoding ?? 'auto');
	} else {
		throw new KeyParseError('The key file is missing or is not text.');
	}
	return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseKeys(input: string | Buffer, options: ParseKeysOptions = {}): ParsedKeys {
	const text = toText(input, options);

	const format = options.format ?? 'txt';
	if (format === 'txt') return parseTxt(text);
	if (format === 'csv') return parseCsvKeys(text, options);
	throw new KeyParseError(`Unknown key file format "${String(format)}". Choose txt or csv.`);
}

/** An Excel workbook imported as text would turn into garbage "keys"; say so instead. */
function rejectSpreadsheetBinary(buf: Uint8Array): void {
	if (hasPrefix(buf, 0x50, 0x4b, 0x03, 0x04)) {
		throw new KeyParseError(
			'This file is a compressed archive (for example an Excel .xlsx file), not text. Save it as CSV or TXT and import that.',
		);
	}
	if (hasPrefix(buf, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) {
		throw new KeyParseError(
			'This file is an old-style Excel (.xls) or Office document, not text. Save it as CSV or TXT and import that.',
		);
	}
}

// ---------------------------------------------------------------------------------------------- TXT

function parseTxt(text: string): ParsedKeys {
	// A plain split is much faster than per-line regex work; only files with CR need the regex split.
	const parts = text.indexOf('\r') === -1 ? text.split('\n') : text.split(/\r\n?|\n/);
	let n = parts.length;
	if (parts[n - 1] === '') n--; // the empty "line" after a final newline (and the empty file)
	const keys: string[] = [];
	let blank = 0;
	for (let i = 0; i < n; i++) {
		// String#trim removes spaces, tabs, NBSP, U+3000 ideographic space, U+FEFF and other Unicode spaces
		const k = parts[i].trim();
		if (k === '') blank++;
		else keys.push(k);
	}
	return { keys, blank, lines: n };
}

// ---------------------------------------------------------------------------------------------- CSV

const DELIMITER_ALIASES: Record<string, string> = {
	',': ',',
	comma: ',',
	';': ';',
	semicolon: ';',
	'|': '|',
	pipe: '|',
	'\t': '\t',
	'\\t': '\t',
	tab: '\t',
};

function resolveDelimiter(d: string | undefined): string {
	if (d === undefined || d === null || d === '') return ',';
	const raw = String(d);
	const alias = DELIMITER_ALIASES[raw] ?? DELIMITER_ALIASES[raw.trim().toLowerCase()];
	if (alias) return alias;
	if ([...raw].length === 1 && raw !== '"' && raw !== '\r' && raw !== '\n') return raw;
	throw new KeyParseError(
		`CSV delimiter "${raw}" is not supported. Use a comma, semicolon, tab or pipe (|).`,
	);
}

/** Header names as shown in messages: a header row holds names, but stay short in case it does not. */
/** Looks like a column name (letters, spaces, _ and -, no digits), not like a key that sits in row 1. */
const HEADER_NAME = /^[\p{L}_ \-]{1,24}$/u;

function describeHeader(header: string[]): string {
	// A header row may really be the first key (Header Row switched on for a file without one):
	// only plain words are shown; anything else is masked, so error messages never carry a key.
	const names = header.map((h) => (h === '' ? '(empty)' : HEADER_NAME.test(h) ? h : maskKey(h)));
	const shown = names.slice(0, 20).join(', ');
	return names.length > 20 ? `${shown}, … (${names.length} columns)` : shown || '(no columns)';
}

function parseCsvKeys(text: string, options: ParseKeysOptions): ParsedKeys {
	const delimiter = resolveDelimiter(options.delimiter);
	const hasHeader = options.hasHeader === true;

	// Column: a number, or a name (looked up in the header row), or a number written as text.
	let index = -1; // 0-based column index once known
	let name: string | null = null;
	const col = options.column;
	if (col === undefined || col === null || (typeof col === 'string' && col.trim() === '')) {
		index = 0;
	} else if (typeof col === 'number' || /^\s*-?\d+\s*$/.test(col)) {
		const n = typeof col === 'number' ? col : Number(col);
		if (hasHeader && typeof col === 'string') {
			name = col.trim(); // a header may really be called "2"; the number is the fallback
		} else {
			if (!Number.isInteger(n) || n < 1) {
				throw new KeyParseError(`CSV column number must be a whole number of 1 or more (got ${String(col)}).`);
			}
			index = n - 1;
		}
	} else if (!hasHeader) {
		throw new KeyParseError(
			`CSV column "${col.trim()}" is a name, but the file is read without a header row. Turn on the header row option or give the column number (1 = first column).`,
		);
	} else {
		name = col.trim();
	}

	const keys: string[] = [];
	let blank = 0;
	let lines = 0;
	let headerSeen = !hasHeader;

	/** The header row (or a blank row before it): resolves a column name. Returns true once the header is taken. */
	const takeHeader = (record: string[]): boolean => {
		if (record.every((c) => c.trim() === '')) {
			// blank lines before the header row
			blank++;
			lines++;
			return false;
		}
		if (name !== null) {
			const wanted = name.toLowerCase();
			const found = record.findIndex((h) => h.trim().toLowerCase() === wanted);
			if (found !== -1) {
				index = found;
			} else if (/^\d+$/.test(name) && Number(name) >= 1) {
				index = Number(name) - 1;
			} else {
				throw new KeyParseError(
					`CSV column "${name}" not found in header: ${describeHeader(record.map((h) => h.trim()))}`,
				);
			}
		}
		return true;
	};
	const takeCell = (raw: string | undefined): void => {
		lines++;
		const cell = raw === undefined ? '' : raw.trim();
		if (cell === '') blank++;
		else keys.push(cell);
	};

	// One line ending everywhere: exact line numbers from csv-parse and no stray CRs in values.
	if (text.indexOf('\r') !== -1) text = text.replace(/\r\n?/g, '\n');

	if (text.indexOf('"') === -1) {
		// Fast path, same result as csv-parse: without quotes a CSV row is its line split on the delimiter.
		const rows = text.split('\n');
		let n = rows.length;
		if (rows[n - 1] === '') n--; // no row after a final newline
		for (let r = 0; r < n; r++) {
			const row = rows[r];
			if (!headerSeen) {
				headerSeen = takeHeader(row.split(delimiter));
				continue;
			}
			// the index-th cell, without splitting the whole row
			let start = 0;
			for (let c = 0; c < index && start !== -1; c++) {
				const d = row.indexOf(delimiter, start);
				start = d === -1 ? -1 : d + delimiter.length;
			}
			if (start === -1) {
				takeCell(undefined);
			} else {
				const end = row.indexOf(delimiter, start);
				takeCell(end === -1 ? row.slice(start) : row.slice(start, end));
			}
		}
		return { keys, blank, lines };
	}

	let lastRecordEndLine = 0;
	try {
		parseCsv(text, {
			delimiter,
			quote: '"',
			escape: '"',
			record_delimiter: '\n',
			relax_column_count: true,
			relax_quotes: true,
			trim: true,
			bom: true,
			skip_empty_lines: false,
			on_record: (record: string[], context: { lines: number }): null => {
				lastRecordEndLine = context.lines;
				if (!headerSeen) headerSeen = takeHeader(record);
				else takeCell(record[index]);
				return null; // keep nothing in csv-parse's own result
			},
		});
	} catch (err) {
		if (err instanceof KeyParseError) throw err;
		throw csvError(err, lastRecordEndLine);
	}
	return { keys, blank, lines };
}

/** csv-parse messages can quote file contents; build our own from the code and line number only. */
function csvError(err: unknown, lastRecordEndLine: number): KeyParseError {
	const e = (err ?? {}) as { code?: unknown; lines?: unknown };
	const code = typeof e.code === 'string' ? e.code : '';
	const line = typeof e.lines === 'number' && e.lines > 0 ? e.lines : undefined;
	const at = line !== undefined ? ` on line ${line}` : '';
	switch (code) {
		case 'CSV_QUOTE_NOT_CLOSED': {
			const start = lastRecordEndLine + 1;
			return new KeyParseError(
				`CSV file is malformed: a quoted value in the row starting on line ${start} is never closed (the file ends${
					line !== undefined ? ` at line ${line}` : ''
				} while still inside quotes). Check for a missing closing quote (").`,
			);
		}
		case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
		case 'CSV_INVALID_CLOSING_QUOTE':
			return new KeyParseError(
				`CSV file is malformed${at}: text follows a closing quote (") before the next delimiter. Inside quotes, write a quote as two quotes ("").`,
			);
		case 'CSV_INVALID_OPENING_QUOTE':
			return new KeyParseError(`CSV file is malformed${at}: a quote (") appears in the middle of a value.`);
		default:
			return new KeyParseError(`CSV file could not be read${at}${code ? ` (${code})` : ''}.`);
	}
}
