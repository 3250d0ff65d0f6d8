/**
 * A local HTTPS server with a fresh self-signed certificate (made with the openssl CLI), for the
 * TLS failure modes of the shop API calls and the Shop API credential test. Answers every request
 * with 200 JSON `{ ok: true, reference: 'TLS-<n>' }` and counts the requests that got through.
 * (Separate from test/helpers/shopServer.ts, which is plain HTTP.)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TlsPeer {
	url: string;
	/** Requests that completed the TLS handshake and reached the handler. */
	requests: Array<{ method: string; path: string; headers: Record<string, unknown> }>;
	close(): Promise<void>;
}

export function selfSignedCertificate(): { key: string; cert: string } {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-tls-'));
	try {
		const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { encoding: 'utf8' });
		if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr || r.error}`);
		return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

export async function startTlsServer(): Promise<TlsPeer> {
	const requests: TlsPeer['requests'] = [];
	const sockets = new Set<Socket>();
	let n = 0;
	const server = https.createServer(selfSignedCertificate(), (req, res) => {
		requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
		req.resume();
		req.on('end', () => {
			const body = JSON.stringify({ ok: true, reference: `TLS-${++n}` });
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
			res.end(body);
		});
	});
	server.on('connection', (s: Socket) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	server.on('tlsClientError', () => undefined);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const addr = server.address();
	if (!addr || typeof addr === 'string') throw new Error('tls peer: no address');
	return {
		url: `https://127.0.0.1:${addr.port}`,
		requests,
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
