/**
 * The shop's HTTP request as n8n exposes it to a webhook node: header values (any case) and the
 * raw body bytes — the exact bytes the shop signed (DESIGN.md §7). `readRawBody(req, maxBytes)`
 * obtains them (see its comment).
 */
import type { Readable } from 'stream';

export type HeaderMap = Record<string, string | string[] | number | undefined>;

/** A header value, case-insensitive; repeated headers are joined with ", " (as Node.js does). */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const [key, value] of Object.entries(headers ?? {})) {
		if (key.toLowerCase() !== wanted || value === undefined) continue;
		return Array.isArray(value) ? value.join(', ') : String(value);
	}
	return undefined;
}

/** What readRawBody needs from a Node.js / express request (n8n adds rawBody / readRawBody). */
export interface RawBodyRequest extends Partial<Pick<Readable, 'on' | 'removeListener' | 'resume' | 'readable' | 'readableEnded'>> {
	headers: HeaderMap;
	rawBody?: unknown;
	readRawBody?: unknown;
	body?: unknown;
	/** Set by express/n8n body parsers once the stream was consumed. */
	_body?: unknown;
}

export interface RawBodyResult {
	rawBody: Buffer | string | null;
	/** Larger than maxBytes (reading stopped). */
	truncated: boolean;
	/**
	 * Where the bytes came from: `rawBody` (n8n already read them), `readRawBody` (n8n's lazy
	 * reader), `stream` (read here), `parsedBody` (only a parsed body was left: NOT the bytes the
	 * shop signed), `none` (no body at all).
	 */
	source: 'rawBody' | 'readRawBody' | 'stream' | 'parsedBody' | 'none';
}

function asRaw(v: unknown): Buffer | string | undefined {
	return Buffer.isBuffer(v) || typeof v === 'string' ? v : undefined;
}

function isTooLarge(err: unknown): boolean {
	const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; httpStatusCode?: unknown } | null;
	return !!e && (e.type === 'entity.too.large' || e.status === 413 || e.statusCode === 413 || e.httpStatusCode === 413);
}

/**
 * The raw request body, as n8n exposes it to webhook nodes:
 *
 * - n8n 1.x and 2.x put an express `rawBodyReader` in front of webhooks that defines
 *   `req.readRawBody()` and, once called, `req.rawBody` (a Buffer; gunzipped/inflated when the
 *   request was compressed). Before calling a webhook node of typeVersion 1 n8n parses the body
 *   (`parseBody`), which reads `req.rawBody` for every content type except multipart.
 * - If only `readRawBody` is there, it is called; if neither is there and the stream was not
 *   consumed, the stream is read here (at most maxBytes; the rest is discarded).
 * - If some other middleware already consumed the stream, only the parsed `req.body` is left:
 *   returned as `parsedBody` (a signature cannot be checked over it).
 */
export async function readRawBody(req: RawBodyRequest, maxBytes: number): Promise<RawBodyResult> {
	const existing = asRaw(req.rawBody);
	if (existing !== undefined) return { rawBody: existing, truncated: false, source: 'rawBody' };

	if (typeof req.readRawBody === 'function') {
		let readError: unknown;
		try {
			await (req.readRawBody as () => Promise<void>).call(req);
		} catch (e) {
			readError = e;
		}
		if (readError !== undefined && isTooLarge(readError)) return { rawBody: null, truncated: true, source: 'readRawBody' };
		const read = asRaw(req.rawBody);
		if (read !== undefined) return { rawBody: read, truncated: false, source: 'readRawBody' };
		// readRawBody could not read (stream consumed by someone else): fall through
	}

	const consumed = req.readableEnded === true || req.readable === false || req._body === true;
	if (!consumed && typeof req.on === 'function' && typeof req.removeListener === 'function') {
		return readStream(req, maxBytes);
	}

	if (req.body !== undefined && req.body !== null) {
		const parsed = asRaw(req.body) ?? JSON.stringify(req.body);
		return { rawBody: parsed, truncated: false, source: 'parsedBody' };
	}
	return { rawBody: null, truncated: false, source: 'none' };
}

function readStream(req: RawBodyRequest, maxBytes: number): Promise<RawBodyResult> {
	const declared = Number(headerValue(req.headers, 'content-length'));
	if (Number.isFinite(declared) && declared > maxBytes) {
		req.resume?.(); // discard; the 413 is answered right away
		return Promise.resolve({ rawBody: null, truncated: true, source: 'stream' });
	}
	const stream = req as Pick<Readable, 'on' | 'removeListener' | 'resume'>;
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const cleanup = () => {
			stream.removeListener('data', onData);
			stream.removeListener('end', onEnd);
			stream.removeListener('error', onError);
		};
		const onData = (chunk: Buffer | string) => {
			const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
			size += buf.length;
			if (size > maxBytes) {
				cleanup();
				stream.resume(); // discard the rest
				resolve({ rawBody: null, truncated: true, source: 'stream' });
				return;
			}
			chunks.push(buf);
		};
		const onEnd = () => {
			cleanup();
			resolve({ rawBody: Buffer.concat(chunks), truncated: false, source: 'stream' });
		};
		const onError = (err: Error) => {
			cleanup();
			reject(err);
		};
		stream.on('data', onData);
		stream.on('end', onEnd);
		stream.on('error', onError);
	});
}
