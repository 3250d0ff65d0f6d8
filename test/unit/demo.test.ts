/**
 * The pieces of `npm start` / `npm run demo` that can be checked without n8n (part of `npm test`):
 * signatures the Shop Webhook accepts (in TypeScript and in the printed curl one-liner), the demo
 * peers persisting what they receive, and that the leftover-process scan finds nothing foreign.
 * The whole flow against a real n8n is shown by `npm start` + `npm run demo` (docs/testing.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import * as nodemailer from 'nodemailer';

import { verifySignature } from '../../nodes/core/intake';
import { curlOneLiner, paths, readJsonLines, rel, signedHeaders, type StoredMail, type StoredShopCall } from '../../demo/common';
import { startDemoShop, startDemoSmtp } from '../../demo/peers';
import { leftoverGroups } from '../../demo/start';

const SECRET = 'demo-test-signing-secret';

describe('demo: signed webhook calls', () => {
	it('signedHeaders() produces what the Shop Webhook verifies', () => {
		const body = JSON.stringify({ event: 'order.paid', orderId: 'T1', items: [{ sku: 'S', quantity: 1 }], buyer: { name: '小明' } });
		const h = signedHeaders(SECRET, body);
		expect(verifySignature({ secret: SECRET, rawBody: body, signatureHeader: h['X-Signature'], timestampHeader: h['X-Timestamp'] })).toEqual({ ok: true });
		expect(verifySignature({ secret: SECRET, rawBody: `${body} `, signatureHeader: h['X-Signature'], timestampHeader: h['X-Timestamp'] }).ok).toBe(false);
	});

	const haveTools = ['bash', 'curl', 'openssl'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
	(haveTools ? it : it.skip)('the curl one-liner npm start prints sends a correctly signed order', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-demo-curl-'));
		const secretFile = path.join(dir, 'shop-signing-secret');
		fs.writeFileSync(secretFile, SECRET);
		const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
		const server = http.createServer((req, res) => {
			let body = '';
			req.on('data', (c: Buffer) => (body += c.toString('utf8')));
			req.on('end', () => {
				received.push({ headers: req.headers, body });
				res.end('{"ok":true}');
			});
		});
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
		const port = (server.address() as { port: number }).port;
		try {
			const cmd = curlOneLiner(`http://127.0.0.1:${port}/webhook/auto-delivery/order-paid`, 'DEMO-STEAM-50').split(rel(paths.signingSecret)).join(secretFile);
			const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
				const child = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
				let out = '';
				child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
				child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
				child.on('exit', (status) => resolve({ status, out }));
			});
			expect(r).toMatchObject({ status: 0 });
			expect(received).toHaveLength(1);
			const [req] = received;
			const order = JSON.parse(req.body) as { orderId: string; items: Array<{ sku: string }>; buyer: { name: string } };
			expect(order.items[0].sku).toBe('DEMO-STEAM-50');
			expect(order.buyer.name).toBe('小红');
			expect(verifySignature({ secret: SECRET, rawBody: req.body, signatureHeader: String(req.headers['x-signature']), timestampHeader: String(req.headers['x-timestamp']) })).toEqual({ ok: true });
		} finally {
			server.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('demo: peers keep what they receive', () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-demo-peers-'));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it('the SMTP server writes mails.jsonl and .eml files, numbering on across restarts, and keeps its port', async () => {
		const mailDir = path.join(dir, 'mail');
		const seen: StoredMail[] = [];
		let smtp = await startDemoSmtp({ dir: mailDir, onMail: (m) => seen.push(m) });
		const send = async (port: number, subject: string) => {
			const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
			await t.sendMail({ from: 'shop@example.com', to: 'buyer@example.com', subject, text: `卡密 KEY-${subject}` });
			t.close();
		};
		await send(smtp.port, 'one');
		const port = smtp.port;
		await smtp.close();
		smtp = await startDemoSmtp({ dir: mailDir, preferredPort: port });
		expect(smtp.port).toBe(port);
		await send(smtp.port, 'two');
		await smtp.close();

		const mails = readJsonLines<StoredMail>(path.join(mailDir, 'mails.jsonl'));
		expect(mails.map((m) => [m.seq, m.subject, m.to, m.text.trim()])).toEqual([
			[1, 'one', ['buyer@example.com'], '卡密 KEY-one'],
			[2, 'two', ['buyer@example.com'], '卡密 KEY-two'],
		]);
		expect(seen).toHaveLength(1);
		expect(fs.readFileSync(path.join(mailDir, mails[1].eml), 'utf8')).toContain('Subject: two');
	});

	it('the shop API records calls, answers references with the token and 401 without it', async () => {
		const shopDir = path.join(dir, 'shop');
		const shop = await startDemoShop({ dir: shopDir, token: 'tok' });
		try {
			const ok = await fetch(`${shop.url}/orders/T1/ship`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: '{"orderId":"T1"}' });
			expect(ok.status).toBe(200);
			expect(await ok.json()).toEqual({ ok: true, reference: 'DEMO-SHIP-1' });
			const bad = await fetch(`${shop.url}/orders/T2/ship`, { method: 'POST', body: 'x' });
			expect(bad.status).toBe(401);
		} finally {
			await shop.close();
		}
		const calls = readJsonLines<StoredShopCall>(path.join(shopDir, 'requests.jsonl'));
		expect(calls.map((c) => [c.seq, c.path, c.status, c.authorized, c.reference, c.body])).toEqual([
			[1, '/orders/T1/ship', 200, true, 'DEMO-SHIP-1', { orderId: 'T1' }],
			[2, '/orders/T2/ship', 401, false, null, 'x'],
		]);
	});
});

describe('demo: leftover processes', () => {
	it('finds no process group for a folder no n8n uses, and never its own', () => {
		expect(leftoverGroups(path.join(os.tmpdir(), `no-such-n8n-folder-${process.pid}`))).toEqual([]);
	});
});
