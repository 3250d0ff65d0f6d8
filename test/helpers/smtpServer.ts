/**
 * A real SMTP server for tests (the buyer's mail provider as seen by Notify Buyer).
 *
 *   const smtp = await startSmtpServer({ auth: { user: 'shop', pass: 'secret' } });
 *   // point the node / n8n credential at smtp.host:smtp.port, no TLS
 *   const [mail] = await smtp.waitFor(1);
 *   expect(mail.to).toEqual(['buyer@example.com']);
 *   smtp.setFault('tempfail'); // the next messages get 451 after DATA
 *   await smtp.close();
 *
 * - Listens on 127.0.0.1, a random free port, plain TCP (no STARTTLS); AUTH PLAIN/LOGIN is offered
 *   without TLS (allowInsecureAuth). Without `auth` any credentials are accepted and sending without
 *   AUTH works too; with `auth` only that user/password pass and AUTH is required.
 * - Every accepted message is parsed with mailparser and recorded in `messages` (oldest first).
 *   Faulted messages are not recorded (they were not delivered).
 * - Faults (stay in force until changed, `clear()` resets to 'none'):
 *   'reject'    → 550 after DATA (permanent failure, nothing delivered)
 *   'tempfail'  → 451 after DATA (temporary failure, nothing delivered)
 *   'drop'      → the TCP connection is destroyed while the message is being sent
 *   'auth-fail' → 535 on AUTH, whatever the credentials
 *
 * Separate process: `npx ts-node --transpile-only test/helpers/smtpServer.ts [--user U --pass P]`
 * prints JSON lines on stdout — `{"type":"ready","host":…,"port":…}` then `{"type":"mail","mail":{…}}`
 * for every message — and reads JSON lines on stdin: `{"type":"fault","fault":"reject"}`,
 * `{"type":"clear"}`. It exits when stdin closes or on SIGTERM/SIGINT.
 */
import type { Socket } from 'node:net';

import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

import { runMain, servePeerOverStdio } from './peerProcess';

export type SmtpFault = 'none' | 'reject' | 'tempfail' | 'drop' | 'auth-fail';

export interface ReceivedMail {
	/** Envelope sender (MAIL FROM). */
	from: string;
	/** Envelope recipients (RCPT TO), in order. */
	to: string[];
	subject: string;
	text: string;
	/** HTML body, null for a text-only message. */
	html: string | null;
	/** Message-ID header as sent (with angle brackets), null if none. */
	messageId: string | null;
	/** The message exactly as received after DATA (headers + body). */
	raw: string;
	/** Date.now() when the message was accepted. */
	at: number;
	/** The user that authenticated on this connection, null without AUTH. */
	authUser: string | null;
}

export interface SmtpPeer {
	host: string;
	port: number;
	/** Accepted messages, oldest first (the live array). */
	messages: ReceivedMail[];
	/** Resolves with the first `count` messages once that many were accepted; rejects after timeoutMs (default 10 s). */
	waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
	setFault(f: SmtpFault): void;
	/** Forgets the recorded messages and resets the fault to 'none'. */
	clear(): void;
	close(): Promise<void>;
}

export interface SmtpServerOptions {
	/** Require AUTH with exactly these credentials. */
	auth?: { user: string; pass: string };
	/** Only plain TCP is supported (no TLS). */
	secure?: false;
}

function smtpError(message: string, responseCode: number): Error {
	return Object.assign(new Error(message), { responseCode });
}

function addressesOf(value: AddressObject | AddressObject[] | undefined): string[] {
	if (!value) return [];
	const list = Array.isArray(value) ? value : [value];
	return list.flatMap((a) => a.value.map((v) => v.address ?? '').filter(Boolean));
}

export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<SmtpPeer> {
	if (opts.secure) throw new Error('startSmtpServer: only plain TCP (secure: false) is supported');
	const messages: ReceivedMail[] = [];
	let fault: SmtpFault = 'none';
	const waiters = new Set<() => void>();
	const sockets = new Map<number, Socket>(); // by the client's port
	const notify = () => {
		for (const w of [...waiters]) w();
	};

	const server = new SMTPServer({
		secure: false,
		disabledCommands: ['STARTTLS'],
		allowInsecureAuth: true,
		authOptional: !opts.auth,
		authMethods: ['PLAIN', 'LOGIN'],
		logger: false,
		banner: 'auto-delivery test SMTP peer',
		size: 25 * 1024 * 1024,
		socketTimeout: 30_000,
		closeTimeout: 1000,
		onAuth(auth: SMTPServerAuthentication, _session: SMTPServerSession, callback) {
			if (fault === 'auth-fail') return callback(smtpError('Authentication credentials invalid', 535));
			if (opts.auth && (auth.username !== opts.auth.user || auth.password !== opts.auth.pass)) {
				return callback(smtpError('Authentication credentials invalid', 535));
			}
			return callback(null, { user: auth.username ?? '' });
		},
		onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
			const current = fault;
			const chunks: Buffer[] = [];
			if (current === 'drop') {
				// Let part of the message arrive, then cut the connection mid-transaction.
				stream.once('data', () => {
					sockets.get(session.remotePort)?.destroy();
				});
				stream.resume();
				stream.on('end', () => callback(smtpError('dropped', 421)));
				stream.on('error', () => undefined);
				return;
			}
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('error', (err) => callback(err));
			stream.on('end', () => {
				if (current === 'reject') return callback(smtpError('Mailbox unavailable (test peer: reject)', 550));
				if (current === 'tempfail') return callback(smtpError('Try again later (test peer: tempfail)', 451));
				const raw = Buffer.concat(chunks).toString('utf8');
				const env = session.envelope;
				simpleParser(raw)
					.then((parsed) => {
						const mail: ReceivedMail = {
							from: env.mailFrom ? env.mailFrom.address : '',
							to: env.rcptTo.map((r) => r.address),
							subject: parsed.subject ?? '',
							text: parsed.text ?? '',
							html: typeof parsed.html === 'string' ? parsed.html : null,
							messageId: parsed.messageId ?? null,
							raw,
							at: Date.now(),
							authUser: session.user ?? null,
						};
						// Fallback for clients that put the recipients only in headers (never in practice).
						if (mail.to.length === 0) mail.to = addressesOf(parsed.to);
						messages.push(mail);
						callback(null, `Queued as test-${messages.length}`);
						notify();
					})
					.catch((err: Error) => callback(smtpError(`Unparseable message: ${err.message}`, 554)));
			});
		},
	});
	server.on('error', () => undefined); // client-side disconnects surface here; never crash the test
	server.server.on('connection', (socket: Socket) => {
		const port = socket.remotePort;
		if (port === undefined) return;
		sockets.set(port, socket);
		socket.once('close', () => sockets.delete(port));
	});

	await new Promise<void>((resolve, reject) => {
		server.server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			server.server.off('error', reject);
			resolve();
		});
	});
	const address = server.server.address();
	if (!address || typeof address === 'string') throw new Error('SMTP peer: no TCP address');

	let closed = false;
	return {
		host: '127.0.0.1',
		port: address.port,
		messages,
		waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (messages.length >= count) {
						waiters.delete(check);
						clearTimeout(timer);
						resolve(messages.slice(0, count));
					}
				};
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(new Error(`SMTP peer: expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
				}, timeoutMs);
				waiters.add(check);
				check();
			});
		},
		setFault(f: SmtpFault) {
			fault = f;
		},
		clear() {
			messages.length = 0;
			fault = 'none';
		},
		async close() {
			if (closed) return;
			closed = true;
			for (const s of sockets.values()) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Separate-process mode
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
	const arg = (name: string) => {
		const i = process.argv.indexOf(`--${name}`);
		return i >= 0 ? process.argv[i + 1] : undefined;
	};
	const user = arg('user');
	const pass = arg('pass');
	const peer = await startSmtpServer(user !== undefined ? { auth: { user, pass: pass ?? '' } } : {});
	servePeerOverStdio({
		records: peer.messages,
		recordType: 'mail',
		ready: { host: peer.host, port: peer.port },
		command: (cmd) => {
			if (cmd.type === 'fault' && cmd.fault) peer.setFault(cmd.fault as SmtpFault);
		},
		clear: () => peer.clear(),
		close: () => peer.close(),
	});
}

runMain(module, main);
