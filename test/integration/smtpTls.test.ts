/**
 * Mail over TLS through our mailer's own TCP connection (nodes/core/outbound/mailer.ts opens the
 * socket with TCP_NODELAY and hands it to nodemailer): implicit TLS (Security: TLS, the port-465
 * kind) and STARTTLS against a real `smtp-server` with a self-signed certificate, pooled and for
 * the credential test; a certificate that is not trusted is refused unless Ignore SSL Issues.
 */
import type { AddressInfo } from 'node:net';

import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

import { closeAllTransports, sendMail, verifySmtp, type SmtpConfig } from '../../nodes/core/outbound';
import { selfSignedCertificate } from '../helpers/tlsServer';

interface Peer {
	port: number;
	received: Array<{ to: string[]; raw: string; secure: boolean }>;
	close(): Promise<void>;
}

async function startSmtp(mode: 'tls' | 'starttls'): Promise<Peer> {
	const { key, cert } = selfSignedCertificate();
	const received: Peer['received'] = [];
	const server = new SMTPServer({
		secure: mode === 'tls',
		key,
		cert,
		authOptional: true,
		logger: false,
		onData(stream: SMTPServerDataStream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('end', () => {
				received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), secure: session.secure });
				callback();
			});
		},
	});
	server.on('error', () => undefined); // a client refusing our certificate aborts the handshake: expected here
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const port = (server.server.address() as AddressInfo).port;
	return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

afterAll(() => closeAllTransports());

describe.each(['tls', 'starttls'] as const)('SMTP with Security %s (self-signed certificate)', (security) => {
	let peer: Peer;
	beforeAll(async () => {
		peer = await startSmtp(security);
	});
	afterAll(async () => {
		closeAllTransports();
		await peer.close();
	});
	const cfg = (over: Partial<SmtpConfig> = {}): SmtpConfig => ({ host: '127.0.0.1', port: peer.port, security, from: 'Shop <shop@example.com>', allowUnauthorizedCerts: true, timeoutMs: 5000, ...over });

	it('sends over an encrypted connection, pooled (two mails) and for the credential test', async () => {
		await verifySmtp(cfg());
		for (const to of ['a@example.com', 'b@example.com']) {
			const sent = await sendMail(cfg(), { to, subject: `Order for ${to}`, text: 'Your key: TLS-KEY-1234' }, ['TLS-KEY-1234']);
			expect(sent.accepted).toEqual([to]);
		}
		expect(peer.received.map((m) => [m.to, m.secure])).toEqual([
			[['a@example.com'], true],
			[['b@example.com'], true],
		]);
		expect(peer.received[1].raw).toContain('Subject: Order for b@example.com');
	});

	it('refuses a certificate it does not trust unless Ignore SSL Issues is on', async () => {
		const before = peer.received.length;
		await expect(verifySmtp(cfg({ allowUnauthorizedCerts: false }))).rejects.toThrow(/TLS problem with the SMTP server 127\.0\.0\.1:\d+ \(.*self[- ]signed/i);
		await expect(sendMail(cfg({ allowUnauthorizedCerts: false }), { to: 'c@example.com', subject: 'x', text: 'KEY-NOT-SENT-99' }, ['KEY-NOT-SENT-99'])).rejects.toThrow(/TLS problem/);
		expect(peer.received).toHaveLength(before);
	});
});
