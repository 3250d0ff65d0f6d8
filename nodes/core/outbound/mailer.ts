/**
 * Email through SMTP with nodemailer: one pooled transport per distinct SMTP configuration, shared
 * by every execution in the process (like the key store registry), closed on exit. No n8n imports.
 */
import { createHash } from 'crypto';
import * as net from 'net';
import nodemailer, { type Transporter } from 'nodemailer';

import { redactAndClip, redactSecrets } from '../secrets';

export type SmtpSecurity = 'starttls' | 'tls' | 'none';

export interface SmtpConfig {
	host: string;
	port?: number;
	/** `tls`: TLS from the start (port 465); `starttls`: upgrade (587/25, required); `none`: plain (local relays only). */
	security?: SmtpSecurity;
	user?: string;
	password?: string;
	from: string;
	/** Accept self-signed certificates. */
	allowUnauthorizedCerts?: boolean;
	/** Per-step timeout. Default 20 s. */
	timeoutMs?: number;
}

export interface MailMessage {
	to: string;
	subject: string;
	text?: string;
	html?: string;
	replyTo?: string;
	bcc?: string;
}

export interface MailSent {
	messageId: string | null;
	accepted: string[];
	response: string;
}

export class MailError extends Error {
	constructor(
		message: string,
		readonly code: string,
		/** 4xx SMTP answers and connection problems are worth another try later. */
		readonly transient: boolean,
	) {
		super(message);
		this.name = 'MailError';
	}
}

// ---------------------------------------------------------------- addresses

const LOCAL_ATOM = "[\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^${LOCAL_ATOM}(?:\\.${LOCAL_ATOM})*$`, 'u');
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;
const TOP_LEVEL = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;

/** Whether `addr` is a bare mailbox address like `buyer@example.com` (internationalised names allowed). */
export function isEmailAddress(addr: string): boolean {
	if (typeof addr !== 'string' || addr.length > 254 || /[\s<>"]/.test(addr)) return false;
	const at = addr.lastIndexOf('@');
	if (at <= 0 || at > 64) return false;
	if (!LOCAL_PART.test(addr.slice(0, at))) return false;
	const labels = addr.slice(at + 1).split('.');
	if (labels.length < 2) return false;
	return labels.every((l) => DOMAIN_LABEL.test(l)) && TOP_LEVEL.test(labels[labels.length - 1]);
}

/**
 * The mailbox of one recipient written as `buyer@example.com` or `Name <buyer@example.com>`;
 * null when it is not a valid address (also when it holds a line break: no header injection).
 */
export function mailboxOf(value: string): string | null {
	if (typeof value !== 'string' || /[\r\n\0]/.test(value)) return null;
	const v = value.trim();
	const named = /^(?:"[^"\\]*"|[^"<>,;@]*)\s*<([^<>\s]+)>$/u.exec(v);
	const addr = named ? named[1] : v;
	return isEmailAddress(addr) ? addr : null;
}

/** Splits a comma/semicolon separated list of recipients (empty entries dropped). */
export function splitRecipients(value: string | null | undefined): string[] {
	return String(value ?? '')
		.split(/[,;]/)
		.map((s) => s.trim())
		.filter((s) => s !== '');
}

// ---------------------------------------------------------------- transports

const transports = new Map<string, Transporter>();
let hooked = false;

function defaultPort(sec: SmtpSecurity): number {
	return sec === 'tls' ? 465 : sec === 'starttls' ? 587 : 25;
}

function options(cfg: SmtpConfig) {
	if (!cfg.host || !String(cfg.host).trim()) throw new MailError('The SMTP host is missing: set it in the Auto Delivery SMTP credential.', 'config', false);
	if (!cfg.from || !String(cfg.from).trim()) throw new MailError('The From address is missing: set it in the Auto Delivery SMTP credential.', 'config', false);
	const security = cfg.security ?? 'starttls';
	const timeout = cfg.timeoutMs ?? 20000;
	return {
		host: cfg.host.trim(),
		port: cfg.port || defaultPort(security),
		secure: security === 'tls',
		requireTLS: security === 'starttls',
		ignoreTLS: security === 'none',
		auth: cfg.user ? { user: cfg.user, pass: cfg.password ?? '' } : undefined,
		tls: { rejectUnauthorized: !cfg.allowUnauthorizedCerts },
		connectionTimeout: timeout,
		greetingTimeout: timeout,
		socketTimeout: timeout,
		pool: true,
		maxConnections: 3,
		getSocket: noDelaySocket(timeout),
	};
}

type SocketCallback = (err: Error | null, socketOptions?: { connection: net.Socket }) => void;

/**
 * The TCP connection to the SMTP server, opened like nodemailer opens it but with Nagle's algorithm
 * off (TCP_NODELAY): nodemailer writes a message in several small packets, and with Nagle on, the
 * last one waits for the server's delayed ACK — about 40 ms per message, to any server
 * (docs/benchmark-e2e.md: 48 → 5 ms per mail to a local server). TLS (port
 * 465) and STARTTLS are then negotiated by nodemailer on this socket as before. Errors keep the
 * codes nodemailer gives them (ECONNECTION with the system error in the message, ETIMEDOUT).
 */
function noDelaySocket(timeoutMs: number) {
	return (opts: { host?: string; port?: number }, callback: SocketCallback): void => {
		const socket = net.connect({ host: opts.host, port: opts.port as number });
		socket.setNoDelay(true);
		let settled = false;
		const settle = (err: Error | null) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			socket.removeListener('error', onError);
			if (err) {
				socket.destroy();
				callback(err);
			} else {
				socket.setKeepAlive(true);
				callback(null, { connection: socket });
			}
		};
		const onError = (err: Error) => settle(Object.assign(err, { code: 'ECONNECTION' }));
		const timer = setTimeout(() => settle(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
		socket.once('connect', () => settle(null));
		socket.once('error', onError);
	};
}

function transportFor(cfg: SmtpConfig): Transporter {
	const opts = options(cfg);
	const key = createHash('sha256').update(JSON.stringify(opts)).digest('hex');
	let t = transports.get(key);
	if (!t) {
		t = nodemailer.createTransport(opts);
		transports.set(key, t);
		if (!hooked) {
			hooked = true;
			process.once('beforeExit', closeAllTransports);
		}
	}
	return t;
}

export function closeAllTransports(): void {
	for (const t of transports.values()) t.close();
	transports.clear();
}

/**
 * A seller-readable error for an SMTP failure; never includes the message body. A server's reply
 * may still echo part of the message (a key in the subject) or the login: `secrets` are redacted
 * from the whole reply and error text before anything is shortened.
 */
export function describeMailError(cfg: Pick<SmtpConfig, 'host' | 'port'>, err: unknown, secrets: Iterable<string> = []): MailError {
	if (err instanceof MailError) return err;
	const list = [...secrets];
	const raw = err as { code?: string; responseCode?: number; response?: string; command?: string; message?: string };
	const e = {
		...raw,
		response: raw.response === undefined ? undefined : redactSecrets(String(raw.response), list),
		message: raw.message === undefined ? undefined : redactSecrets(String(raw.message), list),
	};
	const where = `${cfg.host}${cfg.port ? `:${cfg.port}` : ''}`;
	const rc = Number(e.responseCode ?? 0);
	const reply = (e.response ?? '').split('\n')[0].slice(0, 200);
	if (e.code === 'ETLS' || e.command === 'STARTTLS') {
		return new MailError(
			`The SMTP server ${where} does not accept STARTTLS (${reply || (e.message ?? '').slice(0, 120)}). Set Security to TLS (usually port 465), or None only for a local relay.`,
			'tls',
			false,
		);
	}
	if (e.code === 'EAUTH' || rc === 535 || rc === 534) return new MailError(`The SMTP server ${where} refused the login (${reply || e.code}). Check user and password.`, 'auth', false);
	if (e.code === 'ECONNECTION' || e.code === 'ETIMEDOUT' || e.code === 'ESOCKET' || e.code === 'EDNS') {
		const text = e.message ?? '';
		const sys = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(text)?.[1];
		if (sys === 'ECONNREFUSED') {
			return new MailError(`Cannot talk to the SMTP server ${where}: the connection was refused (ECONNREFUSED), nothing listens there. Check host and port (465 for TLS, 587 for STARTTLS, 25 for a plain relay).`, 'connection', true);
		}
		if (sys === 'ENOTFOUND' || (e.code === 'EDNS' && sys !== 'EAI_AGAIN')) {
			return new MailError(`Cannot talk to the SMTP server ${where}: the host name was not found (DNS). Check the host.`, 'connection', false);
		}
		if (sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH') {
			return new MailError(`Cannot talk to the SMTP server ${where}: it is unreachable from this machine (${sys}).`, 'connection', true);
		}
		if (e.code === 'ETIMEDOUT' || sys === 'ETIMEDOUT' || /timeout|timed out/i.test(text)) {
			return new MailError(`Cannot talk to the SMTP server ${where}: no answer in time (${text.slice(0, 120)}). Check host, port, Security and any firewall.`, 'connection', true);
		}
		if (/wrong version number|ssl|tls|certificate|self[- ]signed/i.test(text)) {
			const why = /wrong version number/i.test(text)
				? 'the server does not speak TLS on this port'
				: text.replace(/\s+/g, ' ').trim().slice(0, 160);
			return new MailError(
				`TLS problem with the SMTP server ${where} (${why}). Check Security: TLS for port 465, STARTTLS for 587; for a self-signed certificate switch on "Ignore SSL Issues".`,
				'tls',
				false,
			);
		}
		return new MailError(`Cannot talk to the SMTP server ${where} (${e.code}: ${text.slice(0, 160)}).`, 'connection', true);
	}
	if (e.code === 'EENVELOPE') return new MailError(`The SMTP server ${where} rejected the recipient: ${reply || e.message}.`, 'recipient', false);
	if (rc >= 400 && rc < 500) return new MailError(`The SMTP server ${where} deferred the message (${reply}). Try again later.`, 'tempfail', true);
	if (rc >= 500) return new MailError(`The SMTP server ${where} rejected the message (${reply}).`, 'rejected', false);
	return new MailError(`Sending mail through ${where} failed: ${e.message === undefined ? redactAndClip(String(err), list, 200) : e.message.slice(0, 200)}`, e.code ?? 'error', true);
}

/** `secrets`: the keys in the message (and any other secret): kept out of the error text. The password always is. */
export async function sendMail(cfg: SmtpConfig, msg: MailMessage, secrets: Iterable<string> = []): Promise<MailSent> {
	const t = transportFor(cfg);
	try {
		const info = await t.sendMail({
			from: cfg.from,
			to: msg.to,
			bcc: msg.bcc || undefined,
			replyTo: msg.replyTo || undefined,
			subject: msg.subject,
			text: msg.text,
			html: msg.html,
		});
		return {
			messageId: info.messageId ?? null,
			accepted: (info.accepted ?? []).map(String),
			response: String(info.response ?? ''),
		};
	} catch (err) {
		throw describeMailError({ host: cfg.host, port: cfg.port || defaultPort(cfg.security ?? 'starttls') }, err, [...secrets, ...(cfg.password ? [cfg.password] : [])]);
	}
}

/** Connects, says EHLO, logs in if configured, and quits (the credential test). */
export async function verifySmtp(cfg: SmtpConfig): Promise<void> {
	const single: Record<string, unknown> = { ...options(cfg) };
	delete single.pool;
	delete single.maxConnections;
	const t = nodemailer.createTransport(single);
	try {
		await t.verify();
	} catch (err) {
		throw describeMailError({ host: cfg.host, port: cfg.port || defaultPort(cfg.security ?? 'starttls') }, err, cfg.password ? [cfg.password] : []);
	} finally {
		t.close();
	}
}
