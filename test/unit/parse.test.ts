import * as iconv from 'iconv-lite';
import { KeyParseError, decodeText, parseKeys, readKeys } from '../../nodes/core/keyfiles';

const BOM8 = Buffer.from([0xef, 0xbb, 0xbf]);
const BOM16LE = Buffer.from([0xff, 0xfe]);
const BOM16BE = Buffer.from([0xfe, 0xff]);

function utf16be(s: string): Buffer {
	const le = Buffer.from(s, 'utf16le');
	const be = Buffer.alloc(le.length);
	for (let i = 0; i < le.length; i += 2) {
		be[i] = le[i + 1];
		be[i + 1] = le[i];
	}
	return be;
}

function thrown(fn: () => unknown): KeyParseError {
	try {
		fn();
	} catch (e) {
		expect(e).toBeInstanceOf(KeyParseError);
		return e as KeyParseError;
	}
	throw new Error('expected a KeyParseError, nothing was thrown');
}

describe('decodeText', () => {
	const text = 'KEY-AAA\n卡密-一二三\n';

	it('decodes UTF-8 without BOM', () => {
		expect(decodeText(Buffer.from(text, 'utf8'))).toBe(text);
		expect(decodeText(Buffer.from(text, 'utf8'), 'utf8')).toBe(text);
	});

	it('strips a UTF-8 BOM (auto and explicit utf8)', () => {
		const buf = Buffer.concat([BOM8, Buffer.from(text, 'utf8')]);
		expect(decodeText(buf)).toBe(text);
		expect(decodeText(buf, 'auto')).toBe(text);
		expect(decodeText(buf, 'utf8')).toBe(text);
	});

	it('decodes UTF-16LE with BOM (auto and explicit), BOM stripped', () => {
		const buf = Buffer.concat([BOM16LE, Buffer.from(text, 'utf16le')]);
		expect(decodeText(buf)).toBe(text);
		expect(decodeText(buf, 'utf16le')).toBe(text);
		expect(decodeText(Buffer.from(text, 'utf16le'), 'utf16le')).toBe(text);
	});

	it('decodes UTF-16BE with BOM', () => {
		const buf = Buffer.concat([BOM16BE, utf16be(text)]);
		expect(decodeText(buf)).toBe(text);
	});

	it('falls back to GBK when the bytes are not valid UTF-8', () => {
		const gbk = iconv.encode(text, 'gbk');
		expect(() => new TextDecoder('utf-8', { fatal: true }).decode(gbk)).toThrow(); // the premise
		expect(decodeText(gbk)).toBe(text);
		expect(decodeText(gbk, 'gbk')).toBe(text);
	});

	it('does not take valid UTF-8 Chinese text for GBK', () => {
		expect(decodeText(Buffer.from('卡密', 'utf8'))).toBe('卡密');
	});

	it('decodes an empty buffer to an empty string', () => {
		expect(decodeText(Buffer.alloc(0))).toBe('');
		expect(decodeText(Buffer.alloc(0), 'gbk')).toBe('');
	});
});

describe('parseKeys: TXT', () => {
	it('splits lines and counts them (final newline is not an extra line)', () => {
		expect(parseKeys('A\nB\nC\n')).toEqual({ keys: ['A', 'B', 'C'], blank: 0, lines: 3 });
		expect(parseKeys('A\nB\nC')).toEqual({ keys: ['A', 'B', 'C'], blank: 0, lines: 3 });
	});

	it('handles CRLF, lone CR and mixed line endings', () => {
		expect(parseKeys('A\r\nB\r\nC\r\n').keys).toEqual(['A', 'B', 'C']);
		expect(parseKeys('A\rB\rC\r')).toEqual({ keys: ['A', 'B', 'C'], blank: 0, lines: 3 });
		expect(parseKeys('A\nB\r\nC\rD\n\r\nE')).toEqual({ keys: ['A', 'B', 'C', 'D', 'E'], blank: 1, lines: 6 });
		// \n\r is two line breaks (LF, then a lone CR)
		expect(parseKeys('A\n\rB')).toEqual({ keys: ['A', 'B'], blank: 1, lines: 3 });
	});

	it('trims spaces, tabs, ideographic spaces and NBSP; drops and counts blank lines', () => {
		const input = '  A  \n\tB\t\n\u3000C\u3000\n\u00a0D\u00a0\n\n   \n\t\n\u3000\u3000\nE F\n';
		expect(parseKeys(input)).toEqual({ keys: ['A', 'B', 'C', 'D', 'E F'], blank: 4, lines: 9 });
	});

	it('does not deduplicate or validate', () => {
		expect(parseKeys('X\nX\n<>&"\'\n').keys).toEqual(['X', 'X', '<>&"\'']);
	});

	it('empty input gives no keys', () => {
		expect(parseKeys('')).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys(Buffer.alloc(0))).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys(BOM8)).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys('\ufeff')).toEqual({ keys: [], blank: 0, lines: 0 });
	});

	it('a file with only whitespace gives no keys and counts blank lines', () => {
		expect(parseKeys('   \n\t\t\r\n\u3000\n\n')).toEqual({ keys: [], blank: 4, lines: 4 });
		expect(parseKeys('  ')).toEqual({ keys: [], blank: 1, lines: 1 });
		expect(parseKeys('\n')).toEqual({ keys: [], blank: 1, lines: 1 });
	});

	it('strips a leading U+FEFF from string input', () => {
		expect(parseKeys('\ufeffA\nB')).toEqual({ keys: ['A', 'B'], blank: 0, lines: 2 });
	});

	it('reads UTF-8 buffers with and without BOM', () => {
		const body = 'KEY-1\r\n卡密-一二三\r\n';
		const expected = { keys: ['KEY-1', '卡密-一二三'], blank: 0, lines: 2 };
		expect(parseKeys(Buffer.from(body, 'utf8'))).toEqual(expected);
		expect(parseKeys(Buffer.concat([BOM8, Buffer.from(body, 'utf8')]))).toEqual(expected);
		expect(parseKeys(Buffer.concat([BOM8, Buffer.from(body, 'utf8')]), { encoding: 'utf8' })).toEqual(expected);
	});

	it('reads UTF-16LE with BOM (the first key does not start with U+FEFF)', () => {
		const buf = Buffer.concat([BOM16LE, Buffer.from('KEY-1\r\n卡密-一二三\r\n', 'utf16le')]);
		const r = parseKeys(buf);
		expect(r).toEqual({ keys: ['KEY-1', '卡密-一二三'], blank: 0, lines: 2 });
		expect(r.keys[0].charCodeAt(0)).toBe(0x4b);
		expect(parseKeys(buf, { encoding: 'utf16le' }).keys).toEqual(['KEY-1', '卡密-一二三']);
	});

	it('reads GBK with encoding auto and gbk', () => {
		const buf = iconv.encode('卡密-一二三\r\n卡密-四五六\r\nABC-123\r\n', 'gbk');
		const expected = { keys: ['卡密-一二三', '卡密-四五六', 'ABC-123'], blank: 0, lines: 3 };
		expect(parseKeys(buf, { encoding: 'auto' })).toEqual(expected);
		expect(parseKeys(buf)).toEqual(expected);
		expect(parseKeys(buf, { encoding: 'gbk' })).toEqual(expected);
	});

	it('refuses an Excel workbook uploaded instead of text', () => {
		const xlsx = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100, 1)]);
		expect(thrown(() => parseKeys(xlsx)).message).toMatch(/xlsx/);
	});

	it('handles one huge line (10 MB)', () => {
		const big = 'K'.repeat(10 * 1024 * 1024);
		const r = parseKeys(`  ${big}  \n`);
		expect(r.lines).toBe(1);
		expect(r.blank).toBe(0);
		expect(r.keys).toHaveLength(1);
		expect(r.keys[0].length).toBe(big.length);
		expect(r.keys[0] === big).toBe(true);
		const fromBuffer = parseKeys(Buffer.from(big + '\r\nB', 'utf8'));
		expect(fromBuffer.keys.map((k) => k.length)).toEqual([big.length, 1]);
	});

	it('counts a 200k-line file exactly', () => {
		const parts: string[] = [];
		for (let i = 0; i < 200_000; i++) parts.push(i % 1000 === 999 ? '   ' : `KEY-${String(i).padStart(8, '0')}-ABCDEFGHIJKLMNOP`);
		const r = parseKeys(parts.join('\r\n') + '\r\n');
		expect(r.lines).toBe(200_000);
		expect(r.blank).toBe(200);
		expect(r.keys).toHaveLength(199_800);
		expect(r.keys[0]).toBe('KEY-00000000-ABCDEFGHIJKLMNOP');
		expect(r.keys[r.keys.length - 1]).toBe('KEY-00199998-ABCDEFGHIJKLMNOP');
	});

	it('parses 1,000,000 lines of ~30 chars well under 2 s', () => {
		const line = 'ABCD-EFGH-IJKL-MNOP-QRST-UVWX\n';
		const text = line.repeat(1_000_000);
		const buf = Buffer.from(text, 'utf8');
		const t0 = process.hrtime.bigint();
		const r = parseKeys(buf);
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		expect(r.keys).toHaveLength(1_000_000);
		expect(r.lines).toBe(1_000_000);
		expect(ms).toBeLessThan(2000);
	});

	it('rejects an unknown format', () => {
		expect(thrown(() => parseKeys('A', { format: 'xml' as never })).message).toMatch(/txt or csv/);
	});
});

describe('parseKeys: CSV', () => {
	const csv = { format: 'csv' as const };

	it('takes column 1 by default, trims values and counts rows', () => {
		expect(parseKeys('A,x\n  B  ,y\nC\n', csv)).toEqual({ keys: ['A', 'B', 'C'], blank: 0, lines: 3 });
	});

	it('reads quoted fields with embedded commas, doubled quotes and newlines', () => {
		const input = 'id,key\n1,"a,b"\n2,"say ""hi"""\n3,"line1\nline2"\n4, "  spaced , out "  \n';
		const r = parseKeys(input, { ...csv, column: 2, hasHeader: true });
		expect(r).toEqual({ keys: ['a,b', 'say "hi"', 'line1\nline2', 'spaced , out'], blank: 0, lines: 4 });
	});

	it('keeps a quote in the middle of an unquoted value as text', () => {
		expect(parseKeys('ab"c,d\n', csv).keys).toEqual(['ab"c']);
	});

	it('header + column by name (case-insensitive, trimmed)', () => {
		const input = 'id, Key ,note\n1,K-1,first\n2,K-2,second\n';
		expect(parseKeys(input, { ...csv, hasHeader: true, column: 'key' })).toEqual({ keys: ['K-1', 'K-2'], blank: 0, lines: 2 });
		expect(parseKeys(input, { ...csv, hasHeader: true, column: '  KEY ' }).keys).toEqual(['K-1', 'K-2']);
		expect(parseKeys(input, { ...csv, hasHeader: true, column: 'NOTE' }).keys).toEqual(['first', 'second']);
	});

	it('header + column by number skips the header', () => {
		const input = 'id,key\n1,K-1\n2,K-2\n';
		expect(parseKeys(input, { ...csv, hasHeader: true, column: 2 })).toEqual({ keys: ['K-1', 'K-2'], blank: 0, lines: 2 });
		expect(parseKeys(input, { ...csv, hasHeader: true, column: '2' }).keys).toEqual(['K-1', 'K-2']);
	});

	it('column by number without header', () => {
		const input = '1,K-1,x\n2,K-2,y\n';
		expect(parseKeys(input, { ...csv, column: 2 })).toEqual({ keys: ['K-1', 'K-2'], blank: 0, lines: 2 });
		expect(parseKeys(input, { ...csv, column: 3 }).keys).toEqual(['x', 'y']);
		expect(parseKeys(input, { ...csv, column: '2' }).keys).toEqual(['K-1', 'K-2']);
	});

	it('counts empty cells, short rows and blank lines as blank', () => {
		const input = '1,K-1\n2,\n3\n\n   \n4,"  "\n5,K-5\n';
		expect(parseKeys(input, { ...csv, column: 2 })).toEqual({ keys: ['K-1', 'K-5'], blank: 5, lines: 7 });
		// column beyond every row: all blank, no error
		expect(parseKeys('a,b\nc,d\n', { ...csv, column: 9 })).toEqual({ keys: [], blank: 2, lines: 2 });
	});

	it('handles CRLF, lone CR and mixed line endings (also inside quotes)', () => {
		expect(parseKeys('A\r\nB\r\n', csv)).toEqual({ keys: ['A', 'B'], blank: 0, lines: 2 });
		expect(parseKeys('A\rB\rC', csv)).toEqual({ keys: ['A', 'B', 'C'], blank: 0, lines: 3 });
		expect(parseKeys('A\nB\r\nC\rD', csv)).toEqual({ keys: ['A', 'B', 'C', 'D'], blank: 0, lines: 4 });
		expect(parseKeys('"x\r\ny",z\r\nB\r\n', csv).keys).toEqual(['x\ny', 'B']);
	});

	it('tab delimiter (\\t and "tab")', () => {
		const input = 'id\tkey\n1\t"K,1"\n2\tK 2\n';
		expect(parseKeys(input, { ...csv, delimiter: '\t', hasHeader: true, column: 'key' }).keys).toEqual(['K,1', 'K 2']);
		expect(parseKeys(input, { ...csv, delimiter: 'tab', column: 2 }).keys).toEqual(['key', 'K,1', 'K 2']);
		// with a comma delimiter the whole line is one cell
		expect(parseKeys('a\tb\n', { ...csv, column: 1 }).keys).toEqual(['a\tb']);
	});

	it('semicolon and pipe delimiters', () => {
		const input = 'id;key\n1;"K;1"\n2;K,2\n';
		expect(parseKeys(input, { ...csv, delimiter: ';', hasHeader: true, column: 'key' })).toEqual({
			keys: ['K;1', 'K,2'],
			blank: 0,
			lines: 2,
		});
		expect(parseKeys('1|K-1\n2|K-2\n', { ...csv, delimiter: '|', column: 2 }).keys).toEqual(['K-1', 'K-2']);
	});

	it('rejects an unusable delimiter', () => {
		expect(thrown(() => parseKeys('a', { ...csv, delimiter: '::' })).message).toMatch(/delimiter/);
	});

	it('reads a UTF-8 BOM CSV and matches the first header name', () => {
		const buf = Buffer.concat([BOM8, Buffer.from('Key,note\r\nK-1,x\r\n', 'utf8')]);
		expect(parseKeys(buf, { ...csv, hasHeader: true, column: 'key' }).keys).toEqual(['K-1']);
		expect(parseKeys('\ufeffKey,note\nK-1,x\n', { ...csv, hasHeader: true, column: 'key' }).keys).toEqual(['K-1']);
	});

	it('reads a GBK CSV with a Chinese header', () => {
		const buf = iconv.encode('编号,卡密\r\n1,卡密-一二三\r\n2,卡密-四五六\r\n', 'gbk');
		expect(parseKeys(buf, { ...csv, hasHeader: true, column: '卡密' }).keys).toEqual(['卡密-一二三', '卡密-四五六']);
		expect(parseKeys(buf, { ...csv, encoding: 'gbk', hasHeader: true, column: 2 }).keys).toEqual(['卡密-一二三', '卡密-四五六']);
	});

	it('reads a UTF-16LE CSV with BOM', () => {
		const buf = Buffer.concat([BOM16LE, Buffer.from('id\tkey\r\n1\tK-1\r\n', 'utf16le')]);
		expect(parseKeys(buf, { ...csv, delimiter: '\t', hasHeader: true, column: 'key' }).keys).toEqual(['K-1']);
	});

	it('missing column name: error names what was asked and what exists', () => {
		const e = thrown(() => parseKeys('id,key,note\n1,SECRET-1,x\n', { ...csv, hasHeader: true, column: 'code' }));
		expect(e.message).toBe('CSV column "code" not found in header: id, key, note');
		expect(e.message).not.toContain('SECRET');
	});

	it('column name without a header row is an error', () => {
		const e = thrown(() => parseKeys('1,SECRET-1\n', { ...csv, column: 'key' }));
		expect(e.message).toMatch(/"key"/);
		expect(e.message).toMatch(/header/);
		expect(e.message).not.toContain('SECRET');
	});

	it('column number below 1 is an error', () => {
		expect(thrown(() => parseKeys('a\n', { ...csv, column: 0 })).message).toMatch(/column number.*got 0/);
		expect(thrown(() => parseKeys('a\n', { ...csv, column: -2 })).message).toMatch(/got -2/);
		expect(thrown(() => parseKeys('a\n', { ...csv, column: 1.5 })).message).toMatch(/got 1.5/);
	});

	it('unclosed quote: error with line numbers and no key content', () => {
		const input = 'SECRET-1\nSECRET-2\n"SECRET-3\nSECRET-4\nSECRET-5\n';
		const e = thrown(() => parseKeys(input, csv));
		expect(e.message).toMatch(/line 3/);
		expect(e.message).toMatch(/never closed/);
		expect(e.message).not.toContain('SECRET');
		// same line numbers with CRLF
		expect(thrown(() => parseKeys(input.replace(/\n/g, '\r\n'), csv)).message).toMatch(/line 3/);
	});

	it('text after a closing quote: error with the line number and no key content', () => {
		const e = thrown(() => parseKeys('A\nB\n"SECRET"xyz,1\n', csv));
		expect(e.message).toMatch(/line 3/);
		expect(e.message).not.toContain('SECRET');
		expect(e.message).not.toContain('xyz');
	});

	it('header only, empty file, whitespace-only file', () => {
		expect(parseKeys('id,key\n', { ...csv, hasHeader: true, column: 'key' })).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys('', { ...csv, hasHeader: true, column: 'key' })).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys('', csv)).toEqual({ keys: [], blank: 0, lines: 0 });
		expect(parseKeys(' \n\t\n', csv)).toEqual({ keys: [], blank: 2, lines: 2 });
	});

	it('handles one huge cell (10 MB)', () => {
		const big = 'Z'.repeat(10 * 1024 * 1024);
		const r = parseKeys(`1,"${big}"\n`, { ...csv, column: 2 });
		expect(r.keys).toHaveLength(1);
		expect(r.keys[0].length).toBe(big.length);
	});

	it('quote-free files (fast path) read exactly as csv-parse reads them', () => {
		// Appending a quoted row forces the csv-parse path; the rows before it must come out the same.
		const samples: Array<[string, Parameters<typeof parseKeys>[1]]> = [
			['a,b,c\n1,2,3\n\n  \nx\n, y ,\n\t z\t,w\n', { ...csv, column: 2 }],
			['a,b,c\r\n1,2,3\r\n\r\nx\r4,5', { ...csv, column: 1 }],
			['a,b,c\n1,2,3\n4\n5,6,7,8\n', { ...csv, column: 3 }],
			['\n \nid;Key\n1;K-1\n2;\n3\n', { ...csv, delimiter: ';', hasHeader: true, column: 'key' }],
			['id\tkey\n1\tK 1\n2\t\u3000K-2\u3000\n', { ...csv, delimiter: 'tab', hasHeader: true, column: 2 }],
			['a|b\n|\n||\nc|d|e\n', { ...csv, delimiter: '|', column: 2 }],
		];
		for (const [text, opts] of samples) {
			const fast = parseKeys(text, opts);
			const d = opts?.delimiter === 'tab' ? '\t' : (opts?.delimiter ?? ',');
			const slow = parseKeys(text.replace(/[\r\n]*$/, '') + '\n' + ['"Q"', '"Q"', '"Q"', '"Q"'].join(d) + '\n', opts);
			expect(slow.keys.pop()).toBe('Q');
			expect(slow).toEqual({ ...fast, lines: fast.lines + 1 });
		}
	});

	it('parses 1,000,000 quote-free CSV rows quickly', () => {
		const text = 'id,key,note\n' + '12345,ABCD-EFGH-IJKL-MNOP-QRST-UVWX,ok\n'.repeat(1_000_000);
		const t0 = process.hrtime.bigint();
		const r = parseKeys(text, { ...csv, hasHeader: true, column: 'key' });
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		expect(r.keys).toHaveLength(1_000_000);
		expect(r.keys[999_999]).toBe('ABCD-EFGH-IJKL-MNOP-QRST-UVWX');
		expect(ms).toBeLessThan(2000);
	});

	it('counts a 200k-row CSV exactly', () => {
		const rows: string[] = ['id,key'];
		for (let i = 0; i < 200_000; i++) rows.push(`${i},${i % 1000 === 0 ? '' : `K-${i}`}`);
		const r = parseKeys(rows.join('\r\n') + '\r\n', { ...csv, hasHeader: true, column: 'key' });
		expect(r.lines).toBe(200_000);
		expect(r.blank).toBe(200);
		expect(r.keys).toHaveLength(199_800);
		expect(r.keys[0]).toBe('K-1');
	});
});

describe('secret hygiene of parse errors', () => {
	it('never quotes a key-like first row in a missing-column error', () => {
		const csv = 'ABCD-1234-EFGH-5678,note\nWXYZ-0000-1111-2222,x\n';
		let message = '';
		try {
			parseKeys(csv, { format: 'csv', hasHeader: true, column: 'code' });
		} catch (e) {
			message = (e as Error).message;
		}
		expect(message).toMatch(/CSV column "code" not found in header: ABCD…5678, note/);
		expect(message).not.toContain('ABCD-1234-EFGH-5678');
	});
});

describe('readKeys (lazy TXT lines for big imports)', () => {
	it('yields the same lines as parseKeys, CRLF/CR/LF, without the final empty line', () => {
		const text = '\ufeffA-1\r\n  B-2 \r\rC-3\n\nD-4\n';
		const lazy = [...readKeys(text).keys].map((k) => k.trim()).filter((k) => k !== '');
		expect(lazy).toEqual(parseKeys(text).keys);
		expect([...readKeys(text).keys]).toEqual(['A-1', '  B-2 ', '', 'C-3', '', 'D-4']);
		expect([...readKeys('').keys]).toEqual([]);
	});
	it('hands CSV over as parsed keys with the blank count', () => {
		const r = readKeys('a,b\n1,\n2,X\n', { format: 'csv', column: 2, hasHeader: true });
		expect([...r.keys]).toEqual(['X']);
		expect(r.blank).toBe(1);
	});
});
