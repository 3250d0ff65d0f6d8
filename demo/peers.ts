/**
 * The two peers `npm start` runs next to n8n, in its own process:
 *
 * - a demo SMTP server (the buyers' and the seller's mailbox): accepts every message, keeps each
 *   one on disk — a line in `.data/mail/mails.jsonl` and the message as `.data/mail/<n>.eml` — so
 *   `npm run demo` (another process) and the seller can read them;
 * - a demo shop API (what Mark Shipped calls): records every call in `.data/shop/requests.jsonl`
 *   and answers 200 `{ ok: true, reference: "DEMO-SHIP-<n>" }`, or 401 without the right Bearer token.
 *
 * Unlike the test peers in test/helpers (random ports, in memory), these keep their port between
 * runs when it is free — the credentials imported into n8n point at it — and persist what they get.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import * as path from 'node:path';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

import { readJsonLines, type StoredMail, type StoredShopCall } from './common';

export interface DemoSmtp {
	host: string;
	port: number;
	close(): Promise<void>;
}

export interface DemoShop {
	url: string;
	port: number;
	close(): Promise<void>;
}

function lastSeq(file: string): number {
	const rows = readJsonLines<{ seq: number }>(file);
	return rows.length ? Math.max(...rows.map((r) => r.seq || 0)) : 0;
}

/** Listens on 127.0.0.1:<preferred> when that port is free, else on a free port. */
async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; once(ev: 'error', cb: (e: Error) => void): unknown; off(ev: 'error', cb: (e: Error) => void): unknown; address(): unknown }, preferred?: number): Promise<number> {
	const attempt = (port: number) =>
		new Promise<number>((resolve, reject) => {
			const onError = (e: Error) => reject(e);
			server.once('error', onError);
			server.listen(port, '127.0.0.1', () => {
				server.off('error', onError);
				const a = server.address() as { port: number } | null;
				resolve(a?.port ?? port);
			});
		});
	if (preferred) {
		try {
			return await attempt(preferred);
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
		}
	}
	return attempt(0);
}

export async function startDemoSmtp(opts: { dir: string; preferredPort?: number; onMail?: (m: StoredMail) => void }): Promise<DemoSmtp> {
	fs.mkdirSync(opts.dir, { recursive: true });
	const jsonl = path.join(opts.dir, 'mails.jsonl');
	let seq = lastSeq(jsonl);
	const sockets = new Set<Socket>();
	const server = new SMTPServer({
		secure: false,
		disabledCommands: ['STARTTLS'],
		allowInsecureAuth: true,
		authOptional: true,
		logger: false,
		banner: 'auto-delivery demo SMTP (keeps every message in .data/mail)',
		size: 25 * 1024 * 1024,
		onAuth(_auth, _session, callback) {
			callback(null, { user: 'demo' });
		},
		onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('error', (err) => callback(err));
			stream.on('end', () => {
				const raw = Buffer.concat(chunks);
				simpleParser(raw)
					.then((parsed) => {
						const n = ++seq;
						const eml = path.join(opts.dir, `${String(n).padStart(4, '0')}.eml`);
						fs.writeFileSync(eml, raw);
						const mail: StoredMail = {
							seq: n,
							at: Date.now(),
							from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
							to: session.envelope.rcptTo.map((r) => r.address),
							subject: parsed.subject ?? '',
							text: parsed.text ?? '',
							html: typeof parsed.html === 'string' ? parsed.html : null,
							messageId: parsed.messageId ?? null,
							eml: path.basename(eml),
						};
						fs.appendFileSync(jsonl, `${JSON.stringify(mail)}\n`);
						callback(null, `Kept as ${mail.eml}`);
						opts.onMail?.(mail);
					})
					.catch((err: Error) => callback(Object.assign(new Error(`Unparseable message: ${err.message}`), { responseCode: 554 })));
			});
		},
	});
	server.on('error', () => undefined);
	server.server.on('connection', (s: Socket) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	const port = await listen(server.server, opts.preferredPort);
	return {
		host: '127.0.0.1',
		port,
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

export async function startDemoShop(opts: { dir: string; token: string; preferredPort?: number; onCall?: (c: StoredShopCall) => void }): Promise<DemoShop> {
	fs.mkdirSync(opts.dir, { recursive: true });
	const jsonl = path.join(opts.dir, 'requests.jsonl');
	let seq = lastSeq(jsonl);
	let shipped = readJsonLines<StoredShopCall>(jsonl).filter((r) => r.reference).length;
	const sockets = new Set<Socket>();
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('error', () => undefined);
		req.on('end', () => {
			const url = new URL(req.url ?? '/', 'http://127.0.0.1');
			const raw = Buffer.concat(chunks).toString('utf8');
			let body: unknown = raw === '' ? null : raw;
			const contentType = req.headers['content-type'] ?? null;
			if (contentType?.includes('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
			else if (raw) {
				try {
					body = JSON.parse(raw) as unknown;
				} catch {
					// keep the text
				}
			}
			const authorized = req.headers.authorization === `Bearer ${opts.token}`;
			const status = authorized ? 200 : 401;
			const reference = authorized ? `DEMO-SHIP-${++shipped}` : null;
			const call: StoredShopCall = {
				seq: ++seq,
				at: Date.now(),
				method: req.method ?? 'GET',
				path: url.pathname,
				query: Object.fromEntries(url.searchParams),
				authorized,
				contentType,
				body,
				status,
				reference,
			};
			fs.appendFileSync(jsonl, `${JSON.stringify(call)}\n`);
			const payload = JSON.stringify(authorized ? { ok: true, reference } : { ok: false, error: 'Unauthorized: expected the Bearer token of the demo shop' });
			res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
			res.end(payload);
			opts.onCall?.(call);
		});
	});
	server.on('connection', (s: Socket) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	server.on('clientError', (_e, s) => s.destroy());
	const port = await listen(server, opts.preferredPort);
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
