/**
 * A local HTTP server standing in for the shop's API (what Mark Shipped and HTTP notifications call).
 *
 *   const shop = await startShopServer();
 *   shop.faults('/orders/T1/ship', [503, 'timeout', 'ok']); // 1st call 503, 2nd hangs, 3rd answers
 *   // … point the node at `${shop.url}/orders/T1/ship` …
 *   const [first, second, third] = await shop.waitFor(3);
 *   expect(third.body).toEqual({ … });
 *   await shop.close();
 *
 * - node:http on 127.0.0.1, a random free port; `url` has no trailing slash.
 * - Every request is recorded in `requests` (oldest first) as soon as its body has arrived —
 *   faulted ones included. `path` is the URL path without the query string (`query` has it).
 *   `body` is the parsed JSON, or the form fields for application/x-www-form-urlencoded, or the
 *   raw text (null for an empty body).
 * - `faults(path | '*', sequence)` queues one entry per request on that path (exact path match;
 *   '*' = any path, used when the path has no queue of its own); when the queue is empty: 'ok'.
 *   Calling it again for the same path replaces that queue.
 *     'ok'              → the responder's answer (default 200 JSON { ok: true, reference: 'SHIP-<n>' },
 *                         n counting the 'ok' answers from 1)
 *     400/401/404/500/502/503 → that status with JSON { ok: false, error: '<status text>' }
 *     'timeout'         → never answers (the socket is destroyed by close())
 *     'reset'           → destroys the socket without answering
 * - `respondWith(path | '*', fn)` replaces the 'ok' answer for that path (fn sees the request).
 * - `clear()` forgets the recorded requests, fault queues and responders, and restarts SHIP-<n> at 1.
 *
 * Separate process: `npx ts-node --transpile-only test/helpers/shopServer.ts` prints JSON lines —
 * `{"type":"ready","url":…,"port":…}` then `{"type":"request","request":{…}}` for every request —
 * and reads `{"type":"faults","path":…,"sequence":[…]}` / `{"type":"clear"}` lines on stdin.
 * It exits when stdin closes or on SIGTERM/SIGINT.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';

import { runMain, servePeerOverStdio } from './peerProcess';

export type ShopFault = 'ok' | 500 | 502 | 503 | 400 | 401 | 404 | 'timeout' | 'reset';

export interface ShopRequest {
	method: string;
	/** URL path without the query string, e.g. '/orders/T1/ship'. */
	path: string;
	/** Query parameters (last value wins). */
	query: Record<string, string>;
	headers: http.IncomingHttpHeaders;
	rawBody: string;
	body: unknown;
	at: number;
	/** What the peer did with it: the status sent, or 'timeout' / 'reset'. */
	outcome: number | 'timeout' | 'reset';
}

export interface ShopPeer {
	url: string;
	port: number;
	requests: ShopRequest[];
	faults(path: string | '*', sequence: ShopFault[]): void;
	respondWith(path: string | '*', fn: (req: ShopRequest) => { status: number; body: unknown }): void;
	/** Resolves with the first `count` requests once that many arrived; rejects after timeoutMs (default 10 s). */
	waitFor(count: number, timeoutMs?: number): Promise<ShopRequest[]>;
	clear(): void;
	close(): Promise<void>;
}

function parseBody(raw: string, contentType: string | undefined): unknown {
	if (raw === '') return null;
	const type = (contentType ?? '').toLowerCase();
	if (type.includes('application/x-www-form-urlencoded')) {
		return Object.fromEntries(new URLSearchParams(raw));
	}
	try {
		return JSON.parse(raw) as unknown;
	} catch {
		return raw;
	}
}

export async function startShopServer(): Promise<ShopPeer> {
	const requests: ShopRequest[] = [];
	const queues = new Map<string, ShopFault[]>();
	const responders = new Map<string, (req: ShopRequest) => { status: number; body: unknown }>();
	const sockets = new Set<Socket>();
	const waiters = new Set<() => void>();
	let okCount = 0;

	const nextFault = (path: string): ShopFault => {
		const own = queues.get(path);
		if (own && own.length > 0) return own.shift() as ShopFault;
		const any = queues.get('*');
		if (any && any.length > 0) return any.shift() as ShopFault;
		return 'ok';
	};

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('error', () => undefined);
		req.on('end', () => {
			const url = new URL(req.url ?? '/', 'http://127.0.0.1');
			const rawBody = Buffer.concat(chunks).toString('utf8');
			const record: ShopRequest = {
				method: req.method ?? 'GET',
				path: url.pathname,
				query: Object.fromEntries(url.searchParams),
				headers: req.headers,
				rawBody,
				body: parseBody(rawBody, req.headers['content-type']),
				at: Date.now(),
				outcome: 0,
			};
			const fault = nextFault(record.path);
			requests.push(record);

			if (fault === 'timeout') {
				record.outcome = 'timeout'; // hold the socket open until close()
			} else if (fault === 'reset') {
				record.outcome = 'reset';
				req.socket.destroy();
			} else {
				let status: number;
				let body: unknown;
				if (fault === 'ok') {
					const responder = responders.get(record.path) ?? responders.get('*');
					if (responder) ({ status, body } = responder(record));
					else {
						okCount++;
						status = 200;
						body = { ok: true, reference: `SHIP-${okCount}` };
					}
				} else {
					status = fault;
					body = { ok: false, error: http.STATUS_CODES[fault] ?? String(fault) };
				}
				record.outcome = status;
				const payload = typeof body === 'string' ? body : JSON.stringify(body);
				res.writeHead(status, {
					'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
					'content-length': Buffer.byteLength(payload),
				});
				res.end(payload);
			}
			for (const w of [...waiters]) w();
		});
	});
	server.on('connection', (socket: Socket) => {
		sockets.add(socket);
		socket.once('close', () => sockets.delete(socket));
	});
	server.on('clientError', (_err, socket) => socket.destroy());

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			server.off('error', reject);
			resolve();
		});
	});
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('shop peer: no TCP address');
	const port = address.port;
	let closed = false;

	return {
		url: `http://127.0.0.1:${port}`,
		port,
		requests,
		faults(path, sequence) {
			queues.set(path, [...sequence]);
		},
		respondWith(path, fn) {
			responders.set(path, fn);
		},
		waitFor(count: number, timeoutMs = 10_000): Promise<ShopRequest[]> {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (requests.length >= count) {
						waiters.delete(check);
						clearTimeout(timer);
						resolve(requests.slice(0, count));
					}
				};
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(new Error(`shop peer: expected ${count} request(s) within ${timeoutMs} ms, got ${requests.length}`));
				}, timeoutMs);
				waiters.add(check);
				check();
			});
		},
		clear() {
			requests.length = 0;
			queues.clear();
			responders.clear();
			okCount = 0;
		},
		async close() {
			if (closed) return;
			closed = true;
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Separate-process mode
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
	const peer = await startShopServer();
	servePeerOverStdio({
		records: peer.requests,
		recordType: 'request',
		ready: { url: peer.url, port: peer.port },
		command: (cmd) => {
			if (cmd.type === 'faults' && typeof cmd.path === 'string' && Array.isArray(cmd.sequence)) peer.faults(cmd.path, cmd.sequence as ShopFault[]);
		},
		clear: () => peer.clear(),
		close: () => peer.close(),
	});
}

runMain(module, main);
