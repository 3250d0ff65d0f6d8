/**
 * A local HTTP server standing in for a seller's content API (External API products): it issues
 * codes per Idempotency-Key, like a well-behaved issuing system — the first request with a key
 * issues `quantity` new codes (from the JSON body, default 1), every later request with the same key
 * gets the same codes back ("answers twice"). A revoke request (a key ending in `:revoke`) is
 * recorded and answered `{ ok: true }`.
 *
 *   const api = await startContentApi();
 *   api.faults([500, 'ok']);          // one entry per request, then 'ok'
 *   // … point the product at `${api.url}/codes` with Content Path `data.codes` …
 *   const [first, second] = await api.waitFor(2);
 *   await api.close();
 *
 * Faults, one per request:
 *   'ok'        → 200 `{ data: { codes: [...] } }`
 *   500/502/503/400/401 → that status, JSON `{ error }` (codes are NOT issued)
 *   'timeout'   → issues the codes, then never answers (the answer was "lost")
 *   'reset'     → issues the codes, then destroys the socket
 *   'slow'      → waits `slowMs` (default 300 ms), then answers like 'ok'
 *   { status, body } / { status, raw } → that answer exactly (codes not issued)
 * Every request is recorded (method, path, headers, body, the fault applied).
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';

export type ContentFault = 'ok' | 'timeout' | 'reset' | 'slow' | number | { status: number; body?: unknown; raw?: string };

export interface ContentRequest {
	method: string;
	path: string;
	query: Record<string, string>;
	headers: http.IncomingHttpHeaders;
	idempotencyKey: string | null;
	rawBody: string;
	body: unknown;
	fault: ContentFault;
}

export interface ContentApi {
	url: string;
	requests: ContentRequest[];
	/** Codes issued per Idempotency-Key. */
	issued: Map<string, string[]>;
	faults(sequence: ContentFault[]): void;
	/** Milliseconds a 'slow' answer waits. */
	slowMs: number;
	waitFor(count: number, timeoutMs?: number): Promise<ContentRequest[]>;
	clear(): void;
	close(): Promise<void>;
}

export async function startContentApi(opts: { prefix?: string } = {}): Promise<ContentApi> {
	const prefix = opts.prefix ?? 'CODE';
	const sockets = new Set<Socket>();
	let queue: ContentFault[] = [];
	let serial = 0;
	const waiters: Array<() => void> = [];
	const api: ContentApi = {
		url: '',
		requests: [],
		issued: new Map(),
		slowMs: 300,
		faults(sequence) {
			queue = [...sequence];
		},
		waitFor(count, timeoutMs = 15000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (api.requests.length >= count) {
						clearTimeout(timer);
						resolve(api.requests.slice(0, count));
						return true;
					}
					return false;
				};
				const timer = setTimeout(() => reject(new Error(`content API: ${api.requests.length} of ${count} requests after ${timeoutMs} ms`)), timeoutMs);
				if (!check()) waiters.push(() => void check());
			});
		},
		clear() {
			api.requests.length = 0;
			api.issued.clear();
			queue = [];
		},
		close() {
			for (const s of sockets) s.destroy();
			return new Promise((r) => server.close(() => r()));
		},
	};
	const issue = (key: string, quantity: number): string[] => {
		let codes = api.issued.get(key);
		if (!codes) {
			codes = Array.from({ length: Math.max(1, quantity) }, () => `${prefix}-${String(++serial).padStart(4, '0')}-${Math.random().toString(36).slice(2, 10).toUpperCase()}`);
			api.issued.set(key, codes);
		}
		return codes;
	};
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const rawBody = Buffer.concat(chunks).toString('utf8');
			let body: unknown = null;
			try {
				body = rawBody === '' ? null : JSON.parse(rawBody);
			} catch {
				body = rawBody;
			}
			const u = new URL(req.url ?? '/', 'http://x');
			const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
			const fault = queue.length ? (queue.shift() as ContentFault) : 'ok';
			api.requests.push({ method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, idempotencyKey: key, rawBody, body, fault });
			for (const w of waiters.splice(0)) w();
			const json = (status: number, payload: unknown) => {
				res.writeHead(status, { 'Content-Type': 'application/json' });
				res.end(JSON.stringify(payload));
			};
			if (typeof fault === 'object') {
				res.writeHead(fault.status, { 'Content-Type': fault.raw !== undefined ? 'text/plain' : 'application/json' });
				res.end(fault.raw !== undefined ? fault.raw : JSON.stringify(fault.body));
				return;
			}
			if (typeof fault === 'number') return json(fault, { error: http.STATUS_CODES[fault] ?? 'error' });
			if (key?.endsWith(':revoke')) return json(200, { ok: true });
			const quantity = body && typeof body === 'object' && typeof (body as { quantity?: unknown }).quantity === 'number' ? (body as { quantity: number }).quantity : 1;
			const codes = key ? issue(key, quantity) : [`${prefix}-NOKEY`];
			if (fault === 'timeout') return; // issued, answer lost
			if (fault === 'reset') return req.socket.destroy();
			const answer = () => json(200, { data: { codes } });
			if (fault === 'slow') setTimeout(answer, api.slowMs);
			else answer();
		});
	});
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
	api.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	return api;
}
