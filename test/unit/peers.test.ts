/**
 * The test peers themselves, exercised for real: nodemailer talks SMTP to the SMTP peer, node:http
 * talks to the shop peer, and both run once more as separate processes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';

import * as nodemailer from 'nodemailer';

import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function transport(peer: { host: string; port: number }, auth?: { user: string; pass: string }) {
	return nodemailer.createTransport({
		host: peer.host,
		port: peer.port,
		secure: false,
		ignoreTLS: true,
		auth,
		connectionTimeout: 5000,
		greetingTimeout: 5000,
		socketTimeout: 5000,
	});
}

const mail = (n = 1) => ({
	from: 'Shop <shop@example.com>',
	to: 'buyer@example.com',
	subject: `Your key #${n} 您的卡密`,
	text: `Key: ABCD-${n}`,
	html: `<p>Key: <b>ABCD-${n}</b></p>`,
});

interface HttpAnswer { status: number; body: unknown; raw: string }

/** One request on a fresh connection (no keep-alive, so faults hit exactly this request). */
function request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpAnswer> {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				const raw = Buffer.concat(chunks).toString('utf8');
				let body: unknown = raw;
				try {
					body = JSON.parse(raw);
				} catch {
					// text
				}
				resolve({ status: res.statusCode ?? 0, body, raw });
			});
			res.on('error', reject);
		});
		req.on('error', reject);
		if (opts.timeoutMs) {
			req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
		}
		req.end(opts.body);
	});
}

const postJson = (url: string, body: unknown, timeoutMs?: number) =>
	request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, timeoutMs });

/** Starts a peer module as its own process (ts-node) and returns its JSON-lines channel. */
async function spawnPeer(file: string, args: string[] = []) {
	const child: ChildProcessWithoutNullStreams = spawn(
		process.execPath,
		['-r', 'ts-node/register/transpile-only', path.join(__dirname, '..', 'helpers', file), ...args],
		{ env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json') } },
	);
	const lines: Array<Record<string, unknown>> = [];
	const waiters = new Set<() => void>();
	let stderr = '';
	child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
	readline.createInterface({ input: child.stdout }).on('line', (line) => {
		lines.push(JSON.parse(line) as Record<string, unknown>);
		for (const w of [...waiters]) w();
	});
	const waitLine = (type: string, nth = 1, timeoutMs = 30_000) =>
		new Promise<Record<string, unknown>>((resolve, reject) => {
			const check = () => {
				const hits = lines.filter((l) => l.type === type);
				if (hits.length >= nth) {
					waiters.delete(check);
					clearTimeout(t);
					resolve(hits[nth - 1]);
				}
			};
			const t = setTimeout(() => {
				waiters.delete(check);
				reject(new Error(`no "${type}" line #${nth} from ${file}; stderr: ${stderr}`));
			}, timeoutMs);
			waiters.add(check);
			check();
		});
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	return { child, waitLine, exited, send: (o: unknown) => child.stdin.write(`${JSON.stringify(o)}\n`) };
}

// ---------------------------------------------------------------------------------------------
// SMTP peer
// ---------------------------------------------------------------------------------------------

describe('SMTP peer', () => {
	let smtp: SmtpPeer;
	afterEach(async () => {
		await smtp?.close();
	});

	it('accepts and parses a message (no AUTH configured)', async () => {
		smtp = await startSmtpServer();
		expect(smtp.host).toBe('127.0.0.1');
		expect(smtp.port).toBeGreaterThan(0);
		const info = await transport(smtp).sendMail({ ...mail(1), messageId: '<m1@example.com>' });
		expect(info.accepted).toEqual(['buyer@example.com']);
		const [m] = await smtp.waitFor(1);
		expect(m).toMatchObject({
			from: 'shop@example.com',
			to: ['buyer@example.com'],
			subject: 'Your key #1 您的卡密',
			messageId: '<m1@example.com>',
			authUser: null,
		});
		expect(m.text.trim()).toBe('Key: ABCD-1');
		expect(m.html).toContain('<b>ABCD-1</b>');
		expect(m.raw).toMatch(/^Message-ID: <m1@example.com>/im);
		expect(Math.abs(m.at - Date.now())).toBeLessThan(10_000);
	});

	it('records several recipients, a text-only message (html null), and any AUTH when none is configured', async () => {
		smtp = await startSmtpServer();
		await transport(smtp, { user: 'anyone', pass: 'anything' }).sendMail({
			from: 'shop@example.com',
			to: ['a@example.com', 'b@example.com'],
			subject: 'plain',
			text: 'hello',
		});
		const [m] = await smtp.waitFor(1);
		expect(m.to).toEqual(['a@example.com', 'b@example.com']);
		expect(m.html).toBeNull();
		expect(m.authUser).toBe('anyone');
	});

	it('with auth: accepts the right credentials, refuses wrong ones (535) and unauthenticated mail', async () => {
		smtp = await startSmtpServer({ auth: { user: 'shop', pass: 's3cret' } });
		await transport(smtp, { user: 'shop', pass: 's3cret' }).sendMail(mail(1));
		const [m] = await smtp.waitFor(1);
		expect(m.authUser).toBe('shop');

		await expect(transport(smtp, { user: 'shop', pass: 'wrong' }).sendMail(mail(2))).rejects.toMatchObject({ responseCode: 535 });
		await expect(transport(smtp).sendMail(mail(3))).rejects.toMatchObject({ responseCode: 530 });
		expect(smtp.messages).toHaveLength(1);
	});

	it('faults: reject → 550, tempfail → 451, drop → connection lost, auth-fail → 535; nothing recorded; none → delivered again', async () => {
		smtp = await startSmtpServer({ auth: { user: 'shop', pass: 's3cret' } });
		const t = () => transport(smtp, { user: 'shop', pass: 's3cret' });

		smtp.setFault('reject');
		await expect(t().sendMail(mail(1))).rejects.toMatchObject({ responseCode: 550 });
		smtp.setFault('tempfail');
		await expect(t().sendMail(mail(2))).rejects.toMatchObject({ responseCode: 451 });
		smtp.setFault('drop');
		const dropped = await t().sendMail(mail(3)).then(() => null, (e: Error & { code?: string; responseCode?: number }) => e);
		expect(dropped).not.toBeNull();
		expect(dropped?.responseCode).toBeUndefined(); // no SMTP answer: the connection was cut
		smtp.setFault('auth-fail');
		await expect(t().sendMail(mail(4))).rejects.toMatchObject({ responseCode: 535 });
		expect(smtp.messages).toHaveLength(0);

		smtp.setFault('none');
		await t().sendMail(mail(5));
		const [m] = await smtp.waitFor(1);
		expect(m.subject).toContain('#5');
	});

	it('waitFor times out with a clear message; clear() forgets messages and the fault', async () => {
		smtp = await startSmtpServer();
		await expect(smtp.waitFor(1, 200)).rejects.toThrow('expected 1 message(s) within 200 ms, got 0');
		await transport(smtp).sendMail(mail(1));
		await smtp.waitFor(1);
		smtp.setFault('reject');
		smtp.clear();
		expect(smtp.messages).toHaveLength(0);
		await transport(smtp).sendMail(mail(2)); // fault reset by clear()
		expect((await smtp.waitFor(1))[0].subject).toContain('#2');
	});

	it('waitFor resolves for messages that arrive later', async () => {
		smtp = await startSmtpServer();
		const pending = smtp.waitFor(2, 10_000);
		const t = transport(smtp);
		await t.sendMail(mail(1));
		await t.sendMail(mail(2));
		const got = await pending;
		expect(got.map((m) => m.subject)).toEqual(['Your key #1 您的卡密', 'Your key #2 您的卡密']);
	});

	it('close() is idempotent and frees the port', async () => {
		smtp = await startSmtpServer();
		const { port } = smtp;
		await smtp.close();
		await smtp.close();
		await expect(transport({ host: '127.0.0.1', port }).sendMail(mail(1))).rejects.toMatchObject({ code: 'ESOCKET' });
	});

	it('runs as a separate process (JSON lines on stdout, commands on stdin)', async () => {
		const p = await spawnPeer('smtpServer.ts', ['--user', 'shop', '--pass', 'pw']);
		try {
			const ready = await p.waitLine('ready');
			const peer = { host: String(ready.host), port: Number(ready.port) };
			await transport(peer, { user: 'shop', pass: 'pw' }).sendMail(mail(1));
			const line = await p.waitLine('mail');
			expect(line.mail).toMatchObject({ to: ['buyer@example.com'], subject: 'Your key #1 您的卡密', authUser: 'shop' });
			p.send({ type: 'fault', fault: 'reject' });
			await new Promise((r) => setTimeout(r, 200));
			await expect(transport(peer, { user: 'shop', pass: 'pw' }).sendMail(mail(2))).rejects.toMatchObject({ responseCode: 550 });
		} finally {
			p.child.stdin.end();
		}
		expect(await p.exited).toBe(0);
	});
});

// ---------------------------------------------------------------------------------------------
// Shop peer
// ---------------------------------------------------------------------------------------------

describe('shop peer', () => {
	let shop: ShopPeer;
	afterEach(async () => {
		await shop?.close();
	});

	it('answers 200 { ok, reference: SHIP-<n> } and records method, path, query, headers, raw and parsed body', async () => {
		shop = await startShopServer();
		expect(shop.url).toBe(`http://127.0.0.1:${shop.port}`);
		const a = await postJson(`${shop.url}/orders/T1/ship?dry=1`, { orderId: 'T1', company: '顺丰' });
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ok: true, reference: 'SHIP-1' });
		const b = await request(`${shop.url}/orders/T2/ship`, { method: 'POST', body: 'a=1&b=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		expect(b.body).toEqual({ ok: true, reference: 'SHIP-2' });
		await request(`${shop.url}/ping`);

		const [r1, r2, r3] = await shop.waitFor(3);
		expect(r1).toMatchObject({ method: 'POST', path: '/orders/T1/ship', query: { dry: '1' }, body: { orderId: 'T1', company: '顺丰' }, outcome: 200 });
		expect(r1.rawBody).toBe(JSON.stringify({ orderId: 'T1', company: '顺丰' }));
		expect(r1.headers['content-type']).toBe('application/json');
		expect(r2.body).toEqual({ a: '1', b: 'x' });
		expect(r3).toMatchObject({ method: 'GET', path: '/ping', rawBody: '', body: null });
	});

	it('consumes a fault sequence one entry per request on that path, then answers ok; other paths unaffected', async () => {
		shop = await startShopServer();
		shop.faults('/ship', [500, 502, 503, 400, 401, 404]);
		const statuses: number[] = [];
		for (let i = 0; i < 7; i++) {
			const other = await postJson(`${shop.url}/other`, {});
			expect(other.status).toBe(200);
			statuses.push((await postJson(`${shop.url}/ship`, { i })).status);
		}
		expect(statuses).toEqual([500, 502, 503, 400, 401, 404, 200]);
		const failed = await (async () => {
			shop.faults('/ship', [503]);
			return postJson(`${shop.url}/ship`, {});
		})();
		expect(failed.body).toEqual({ ok: false, error: 'Service Unavailable' });
		expect(shop.requests).toHaveLength(15); // faulted ones included
		expect(shop.requests.filter((r) => r.path === '/ship').map((r) => r.outcome)).toEqual([500, 502, 503, 400, 401, 404, 200, 503]);
	});

	it("'*' applies to any path without a queue of its own", async () => {
		shop = await startShopServer();
		shop.faults('*', [503, 503]);
		shop.faults('/own', [401]);
		expect((await postJson(`${shop.url}/own`, {})).status).toBe(401);
		expect((await postJson(`${shop.url}/own`, {})).status).toBe(503); // own queue empty → '*'
		expect((await postJson(`${shop.url}/x`, {})).status).toBe(503);
		expect((await postJson(`${shop.url}/x`, {})).status).toBe(200);
	});

	it("'timeout' never answers (until close), 'reset' destroys the socket; both are recorded", async () => {
		shop = await startShopServer();
		shop.faults('/ship', ['timeout', 'reset', 'ok']);
		const t0 = Date.now();
		await expect(postJson(`${shop.url}/ship`, { n: 1 }, 500)).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' });
		expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
		await expect(postJson(`${shop.url}/ship`, { n: 2 })).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|socket hang up/) });
		const ok = await postJson(`${shop.url}/ship`, { n: 3 });
		expect(ok.body).toEqual({ ok: true, reference: 'SHIP-1' });
		expect(shop.requests.map((r) => [r.body, r.outcome])).toEqual([
			[{ n: 1 }, 'timeout'],
			[{ n: 2 }, 'reset'],
			[{ n: 3 }, 200],
		]);

		// A request left hanging is ended by close().
		shop.faults('/ship', ['timeout']);
		const hanging = postJson(`${shop.url}/ship`, { n: 4 });
		await shop.waitFor(4);
		await shop.close();
		await expect(hanging).rejects.toBeDefined();
	});

	it('respondWith replaces the ok answer (per path or *); faults still come first', async () => {
		shop = await startShopServer();
		shop.respondWith('/orders', (req) => ({ status: 201, body: { created: (req.body as { id: string }).id } }));
		shop.respondWith('*', () => ({ status: 200, body: 'plain text' }));
		shop.faults('/orders', [502]);
		expect((await postJson(`${shop.url}/orders`, { id: 'A' })).status).toBe(502);
		expect(await postJson(`${shop.url}/orders`, { id: 'B' })).toMatchObject({ status: 201, body: { created: 'B' } });
		expect(await request(`${shop.url}/else`)).toMatchObject({ status: 200, raw: 'plain text' });
	});

	it('waitFor times out clearly; clear() resets requests, faults, responders and the SHIP counter', async () => {
		shop = await startShopServer();
		await expect(shop.waitFor(1, 200)).rejects.toThrow('expected 1 request(s) within 200 ms, got 0');
		shop.faults('*', [500]);
		shop.respondWith('*', () => ({ status: 202, body: {} }));
		shop.clear();
		expect((await postJson(`${shop.url}/a`, {})).body).toEqual({ ok: true, reference: 'SHIP-1' });
		await postJson(`${shop.url}/a`, {});
		shop.clear();
		expect(shop.requests).toHaveLength(0);
		expect((await postJson(`${shop.url}/a`, {})).body).toEqual({ ok: true, reference: 'SHIP-1' });
	});

	it('runs as a separate process (JSON lines on stdout, commands on stdin)', async () => {
		const p = await spawnPeer('shopServer.ts');
		try {
			const ready = await p.waitLine('ready');
			const url = String(ready.url);
			p.send({ type: 'faults', path: '/ship', sequence: [503] });
			await new Promise((r) => setTimeout(r, 200));
			expect((await postJson(`${url}/ship`, { a: 1 })).status).toBe(503);
			expect((await postJson(`${url}/ship`, { a: 2 })).body).toEqual({ ok: true, reference: 'SHIP-1' });
			const second = await p.waitLine('request', 2);
			expect(second.request).toMatchObject({ path: '/ship', body: { a: 2 }, outcome: 200 });
		} finally {
			p.child.stdin.end();
		}
		expect(await p.exited).toBe(0);
	});
});
