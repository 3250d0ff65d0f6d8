/**
 * The HTTP base of the platform fakes (woocommerce.ts, shopify.ts, billing.ts): a local server on
 * 127.0.0.1 (a random free port; HTTPS with a fresh self-signed certificate when `tls` is set) that
 * records every request and answers with the platform's handler, unless a fault is queued.
 *
 *   const fake = await startFake((req) => ({ status: 200, body: { ok: true } }));
 *   fake.faults('PUT /wp-json/wc/v3/orders/727', [500, 'timeout', 'ok']);
 *
 * - `requests` (oldest first) holds every request once its body arrived, faulted ones included:
 *   `path` without the query string, `query`, `headers`, `rawBody`, `body` (parsed JSON, form
 *   fields for application/x-www-form-urlencoded, else the text; null when empty) and `outcome`.
 * - `faults(route, sequence)` queues one entry per request on a route — `'METHOD /path'`, `'/path'`
 *   (any method) or `'*'` (any request without a queue of its own); an empty queue means 'ok'.
 *     'ok'                      → the handler's answer
 *     400/401/404/429/500/502/503 → that status with the platform's error body (`errorBody`)
 *     'timeout'                 → never answers (the socket is destroyed by close())
 *     'reset'                   → destroys the socket without answering
 *     'echo'                    → 400 echoing the request's headers and body (a careless proxy or
 *                                 shop: what a client must scrub from its error texts)
 * - `clear()` forgets the requests and the fault queues (the platform state is the fake's own).
 * Runs in-process: import it and start as many as a test needs; `close()` ends open sockets too.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';

import type { ShopRequest } from '../shopServer';
import { selfSignedCertificate } from '../tlsServer';

export type FakeFault = 'ok' | 400 | 401 | 404 | 429 | 500 | 502 | 503 | 'timeout' | 'reset' | 'echo';

/** A recorded request: the same record as the shop peer's (method, path, query, headers, rawBody, body, at, outcome). */
export type FakeRequest = ShopRequest;

export interface FakeAnswer {
	status: number;
	body: unknown;
}

export interface FakeOptions {
	/** HTTPS with a self-signed certificate (clients need "Ignore SSL Issues"). */
	tls?: boolean;
	/** The body a faulted status answers with (the platform's error shape). */
	errorBody?: (status: number) => unknown;
}

export interface FakeServer {
	url: string;
	port: number;
	requests: FakeRequest[];
	faults(route: string, sequence: FakeFault[]): void;
	clear(): void;
	close(): Promise<void>;
}

/** JSON, or the fields of a form, or the text as it came (null when there is no body). */
function bodyOf(raw: string, contentType: string): unknown {
	if (raw === '') return null;
	if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
	try {
		return JSON.parse(raw) as unknown;
	} catch {
		return raw;
	}
}

async function readRequest(req: http.IncomingMessage): Promise<FakeRequest> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	const rawBody = Buffer.concat(chunks).toString('utf8');
	const { pathname, searchParams } = new URL(req.url ?? '/', 'http://127.0.0.1');
	const body = bodyOf(rawBody, String(req.headers['content-type'] ?? '').toLowerCase());
	return { method: req.method ?? 'GET', path: pathname, query: Object.fromEntries(searchParams), headers: req.headers, rawBody, body, at: Date.now(), outcome: 'timeout' };
}

export async function startFake(handle: (req: FakeRequest) => FakeAnswer, options: FakeOptions = {}): Promise<FakeServer> {
	const requests: FakeRequest[] = [];
	const queues = new Map<string, FakeFault[]>();
	const sockets = new Set<Socket>();
	const errorBody = options.errorBody ?? ((status: number) => ({ error: http.STATUS_CODES[status] ?? String(status) }));

	const take = (req: FakeRequest): FakeFault => {
		for (const route of [`${req.method} ${req.path}`, req.path, '*']) {
			const queue = queues.get(route);
			if (queue?.length) return queue.shift() as FakeFault;
		}
		return 'ok';
	};

	const answer = (req: http.IncomingMessage, res: http.ServerResponse, record: FakeRequest) => {
		requests.push(record);
		const fault = take(record);
		if (fault === 'timeout') return; // held open until close()
		if (fault === 'reset') {
			record.outcome = 'reset';
			req.socket.destroy();
			return;
		}
		const echo = { status: 400, body: { error: 'Bad Request', echo: { headers: record.headers, body: record.rawBody } } };
		const { status, body } = fault === 'ok' ? handle(record) : fault === 'echo' ? echo : { status: fault, body: errorBody(fault) };
		record.outcome = status;
		const payload = typeof body === 'string' ? body : JSON.stringify(body);
		const type = typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8';
		res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(payload) }).end(payload);
	};
	const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
		readRequest(req).then(
			(record) => answer(req, res, record),
			() => req.socket.destroy(),
		);
	};

	const server = options.tls ? https.createServer(selfSignedCertificate(), onRequest) : http.createServer(onRequest);
	server.on('connection', (socket: Socket) => {
		sockets.add(socket);
		socket.once('close', () => sockets.delete(socket));
	});
	server.on('clientError', (_err, socket) => socket.destroy());
	server.on('tlsClientError', () => undefined);
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('fake: no TCP address');
	let closed = false;
	return {
		url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`,
		port: address.port,
		requests,
		faults(route, sequence) {
			queues.set(route, [...sequence]);
		},
		clear() {
			requests.length = 0;
			queues.clear();
		},
		async close() {
			if (closed) return;
			closed = true;
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** The user and password of a Basic Authorization header (null when there is none). */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
	const m = /^Basic\s+(.+)$/i.exec(header ?? '');
	if (!m) return null;
	const decoded = Buffer.from(m[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The token of a Bearer Authorization header ('' when there is none). */
export function bearerToken(header: string | undefined): string {
	return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '';
}
