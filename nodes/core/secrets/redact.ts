/**
 * Masking and redaction of key text: keys are shown masked (`ABCD…WXYZ`), and text that may echo a
 * key (an error from a mail server or a shop API) is redacted before it is shortened.
 */

/**
 * Masks a key for display: `ABCD…WXYZ` for long keys, fewer visible characters for short ones,
 * never more than a third of the key.
 */
export function maskKey(key: string): string {
	const chars = Array.from(key);
	const n = chars.length;
	let visible: number;
	if (n >= 16) visible = 4;
	else if (n >= 10) visible = 2;
	else if (n >= 6) visible = 1;
	else visible = 0;
	if (visible === 0) return '…'.padStart(Math.min(n, 4), '*');
	return chars.slice(0, visible).join('') + '…' + chars.slice(n - visible).join('');
}

/** A hex number as a regex source matching it in either case, zero-padded to `width`. */
function hexSource(n: number, width: number): string {
	return n
		.toString(16)
		.padStart(width, '0')
		.replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

const HTML_NAMED: Record<string, string[]> = { '&': ['&amp;'], '<': ['&lt;'], '>': ['&gt;'], '"': ['&quot;'], "'": ['&apos;'] };
const JSON_SHORT: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };

/**
 * One character of a secret in every form a server may echo it in: as it is; percent-encoded
 * (either hex case, also re-encoded: `%252F`; `+` for a space); JSON-escaped once or more (`\"`, `\\/`,
 * `\u00e9`, `\\\"` …, either hex case); as an HTML entity (`&amp;`, `&#39;`, `&#x27;`).
 */
function charSource(ch: string): string {
	const alts = [escapeRegExp(ch)];
	const bytes = [...Buffer.from(ch, 'utf8')];
	alts.push(bytes.map((b) => `%(?:25){0,3}${hexSource(b, 2)}`).join(''));
	if (ch === ' ') alts.push('\\+');
	const units = Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i));
	alts.push(units.map((u) => `\\\\{1,15}u${hexSource(u, 4)}`).join(''));
	const short = JSON_SHORT[ch];
	if (short !== undefined) alts.push(`\\\\{1,15}${escapeRegExp(short)}`);
	for (const named of HTML_NAMED[ch] ?? []) alts.push(escapeRegExp(named));
	const cp = ch.codePointAt(0) as number;
	alts.push(`&#0{0,4}${cp};`, `&#[xX]0{0,4}${hexSource(cp, 1)};`);
	return `(?:${alts.join('|')})`;
}

/** Matches a secret as it is and in its JSON-escaped, URL-encoded and HTML-escaped forms (also mixed). */
function secretPattern(secret: string): RegExp {
	// Runs of backslashes would make the per-character forms backtrack without end: only the plain forms then.
	if (/\\{3}/.test(secret)) return new RegExp([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)].map(escapeRegExp).join('|'), 'g');
	return new RegExp(Array.from(secret, charSource).join(''), 'g');
}

/**
 * Replaces every occurrence of each secret in `text` with its mask (longest first), so an error
 * message echoed by a mail server or a shop API never carries a key — also when the server echoes
 * it JSON-escaped (`\/`, `\u00e9`, escaped again inside an error string), URL-encoded or
 * HTML-escaped. Secrets shorter than 4 characters are left alone (they would mask ordinary words).
 *
 * Always redact the whole text first and shorten afterwards (see `redactAndClip`): a key cut in two
 * by shortening no longer matches and its first part would stay readable.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
	return redactCompiled(String(text ?? ''), compileSecrets(secrets));
}

interface CompiledSecret {
	secret: string;
	/** Built on first use: compiling the per-character pattern of a key costs far more than most texts it runs on. */
	pattern: () => RegExp;
	mask: string;
}

/** The secrets worth redacting (4+ characters), longest first, with their patterns. */
function compileSecrets(secrets: Iterable<string>): CompiledSecret[] {
	return [...new Set([...secrets].filter((x) => typeof x === 'string' && x.length >= 4))]
		.sort((a, b) => b.length - a.length)
		.map((secret) => {
			let built: RegExp | undefined;
			return { secret, pattern: () => (built ??= secretPattern(secret)), mask: maskKey(secret) };
		});
}

/**
 * Every form of a character in `secretPattern` other than the character itself starts with `%`,
 * `\\`, `&` or is `+` (for a space). A text without those four can hold a secret only as it is,
 * which `split` already replaced: the pattern is then not needed at all.
 */
const ENCODED_FORM = /[%\\&+]/;

function redactCompiled(text: string, list: CompiledSecret[]): string {
	let out = text;
	for (const { secret, pattern, mask } of list) {
		if (out.includes(secret)) out = out.split(secret).join(mask);
		if (!ENCODED_FORM.test(out)) continue;
		const re = pattern();
		re.lastIndex = 0;
		out = out.replace(re, () => mask);
	}
	return out;
}

/** The longest text one character of a secret can match in `secretPattern` (`%25252525F0…` is 36). */
const MAX_FORM_PER_CHAR = 40;

/**
 * The first `max` characters of `text` with every secret redacted. Redaction comes first, on all of
 * the text that can reach the result: shortening first cuts a key in two, and its first part no
 * longer matches and stays readable. Long texts (a 10 MB error page) are redacted on a window of
 * `max` + the longest echo form of a secret (larger when masks shrank it below `max`); the window's
 * last such stretch is dropped, because a secret cut there by the window could still show.
 */
export function redactAndClip(text: string, secrets: Iterable<string>, max: number): string {
	const list = compileSecrets(secrets);
	const all = String(text ?? '');
	const margin = MAX_FORM_PER_CHAR * list.reduce((m, x) => Math.max(m, Array.from(x.secret).length), 0);
	let out: string;
	for (let size = max + margin; ; size *= 2) {
		if (all.length <= size) {
			out = redactCompiled(all, list);
			break;
		}
		const window = redactCompiled(all.slice(0, size), list);
		out = window.slice(0, Math.max(0, window.length - margin));
		if (out.length >= max) break; // else masks shrank the window below max: take a larger one
	}
	return out.length > max ? out.slice(0, max) : out;
}
