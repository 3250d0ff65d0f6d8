/**
 * The bad-input corpus (test/corpus/, format in test/corpus/README.md) through a real n8n 2.41.1
 * running the bundled order-paid, order-refunded and import-keys workflows AS SHIPPED, with local
 * SMTP servers (buyer / seller) and a local shop API. One n8n instance for the whole corpus.
 *
 *   1. Every case Shop Webhook or n8n answers without running the workflow, one at a time: the
 *      expected status (and JSON traits), within a bounded time, n8n still alive (/healthz) after
 *      it, no secret / key / stack trace in the answer, and the key store's row counts unchanged.
 *      Afterwards: 0 mails, 0 shop calls, 0 executions of the webhook workflows.
 *   2. The odd-but-valid cases that run the workflow (unknown / SQL / HTML / RTL sku, quantity "2",
 *      a held order, SQL / HTML / CRLF / emoji buyer names): the documented answer, the expected
 *      mails only (no injected header, no raw markup in the HTML mail).
 *   3. A valid order still delivers (and its exact request sent again inside the signature window
 *      is answered the same, with no second mail).
 * Every problem is collected and reported at once, with a table of what each case got.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { loadCorpus, matchesSubset, webhookRequest, type CorpusCase, type Placeholders } from '../helpers/corpus';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import { basicAuth, submitForm, waitForMail } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CRED_IDS = { keyStore: 'adKeyStore0001', shopApi: 'adShopApi00001', smtp: 'adSmtp00000001', sellerSmtp: 'adSellerSmtp01', formLogin: 'adFormLogin001' };
const WF = { orderPaid: 'adWfOrderPaid001', orderRefunded: 'adWfOrderRefund1', importKeys: 'adWfImportKeys01' };
const PATHS = { 'order-paid': 'auto-delivery/order-paid', refund: 'auto-delivery/order-refunded', 'import-form': 'auto-delivery/import-keys' };

const STORE_SECRET = `corpus-store-${rand()}${rand()}`;
const SIGNING_SECRET = `corpus-signing-${rand()}${rand()}`;
const SHOP_TOKEN = `corpus-shop-token-${rand()}`;
const FORM_PASSWORD = `form-${rand()}${rand()}`;
const SECRETS = [STORE_SECRET, SIGNING_SECRET, SHOP_TOKEN, FORM_PASSWORD];
const SHOP = 'corpus-shop';
const SKU = 'CORPUS-STEAM-10';
const KEYS = Array.from({ length: 20 }, (_, i) => `CORPUSKEY-${String(i).padStart(2, '0')}-${rand()}-${rand()}`);
/** A stack trace line (`at fn (file.js:1:2)`), a module path, or an error class with a stack. */
const STACK = /\n\s+at \S|\bat \S+ \(\S+:\d+:\d+\)|node_modules\/|\/dist\/nodes\//;
/** n8n answers the 17 MiB upload only after reading it; every other answer comes much sooner. */
const timeoutFor = (c: CorpusCase) => (c.body?.generate?.kind === 'padded' && c.body.generate.bytes > 2_000_000 ? 60_000 : 20_000);

interface Got {
	name: string;
	expected: number;
	status: number | 'timeout' | 'error';
	ms: number;
	text: string;
}

describe('e2e: the bad-input corpus through a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let smtpBuyer: SmtpPeer;
	let smtpSeller: SmtpPeer;
	let shop: ShopPeer;
	let storeFile: string;
	const cases = loadCorpus();
	const got: Got[] = [];
	const problems: string[] = [];
	const t0 = Date.now();
	const marks: Record<string, number> = {};
	let seq = 0;

	const placeholders = (c: CorpusCase): Placeholders => {
		seq += 1;
		return { orderId: `CORPUS-${seq}-${rand()}`, sku: SKU, shop: SHOP, email: `corpus${seq}@example.com`, buyerId: `cb${seq}`, importSku: `CORPUS-IMPORT-${seq}`, rand: rand() };
	};

	/** Row counts of every table of the key store (read-only, while n8n runs). */
	const storeCounts = async (): Promise<Record<string, number>> => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const sqlite3 = require('sqlite3') as typeof import('sqlite3');
		const db = await new Promise<import('sqlite3').Database>((resolve, reject) => {
			const d = new sqlite3.Database(storeFile, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
		});
		const all = (sql: string) => new Promise<Array<Record<string, unknown>>>((resolve, reject) => db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as Array<Record<string, unknown>>))));
		try {
			await all('PRAGMA busy_timeout = 5000');
			const tables = (await all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")).map((r) => String(r.name));
			const counts: Record<string, number> = {};
			for (const t of tables) counts[t] = Number((await all(`SELECT COUNT(*) AS n FROM "${t}"`))[0].n);
			return counts;
		} finally {
			await new Promise<void>((resolve) => db.close(() => resolve()));
		}
	};

	const alive = async (): Promise<boolean> => {
		try {
			return (await fetch(`${n8n.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) })).status === 200;
		} catch {
			return false;
		}
	};

	/** Sends a webhook case; returns the answer (status 'timeout' when n8n did not answer in time). */
	const sendWebhook = async (c: CorpusCase, p: Placeholders): Promise<Got> => {
		const req = webhookRequest(c, p, SIGNING_SECRET);
		const started = Date.now();
		try {
			const res = await fetch(n8n.webhookUrl(PATHS[c.target]), {
				method: req.method,
				headers: req.headers,
				body: req.body === null ? undefined : new Uint8Array(req.body),
				signal: AbortSignal.timeout(timeoutFor(c)),
			});
			const text = await res.text();
			return { name: c.name, expected: c.expect.status, status: res.status, ms: Date.now() - started, text };
		} catch (e) {
			const timedOut = (e as Error).name === 'TimeoutError';
			return { name: c.name, expected: c.expect.status, status: timedOut ? 'timeout' : 'error', ms: Date.now() - started, text: String((e as Error).message) };
		}
	};

	/** Sends an import-form case like a browser (basic auth, multipart, the completion page). */
	const sendForm = async (c: CorpusCase, p: Placeholders): Promise<Got & { title?: string; message?: string; page?: string }> => {
		const f = c.form!;
		const url = n8n.formUrl(PATHS['import-form']);
		const auth = f.auth === 'valid' ? basicAuth('seller', FORM_PASSWORD) : f.auth === 'wrong' ? basicAuth('seller', 'not-the-password') : undefined;
		const started = Date.now();
		const base = { name: c.name, expected: c.expect.status };
		try {
			if (f.raw || !auth || !f.fields) {
				const headers: Record<string, string> = auth ? { authorization: auth } : {};
				let body: FormData | string;
				if (f.raw) {
					headers['content-type'] = f.raw.contentType;
					body = f.raw.text.replace(/\{\{(\w+)\}\}/g, (all, k: string) => p[k] ?? all);
				} else {
					body = new FormData();
					body.append('field-0', p.importSku);
				}
				const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(20_000) });
				return { ...base, status: res.status, ms: Date.now() - started, text: await res.text() };
			}
			const fl = f.fields;
			const fillP = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (all, k: string) => p[k] ?? all);
			const file = fl.keysFile;
			const content = file.base64 !== undefined ? Buffer.from(file.base64, 'base64') : Buffer.from(fillP(file.text ?? ''));
			const r = await submitForm(url, auth, [fillP(fl.sku), fillP(fl.productName), { content, fileName: file.name, type: file.type }, fl.format, fl.column], { timeoutMs: 20_000 });
			return { ...base, status: 200, ms: Date.now() - started, text: `${r.title}\n${r.message}`, title: r.title, message: r.message, page: r.html };
		} catch (e) {
			const m = /answered (\d{3}): ([\s\S]*)$/.exec(String((e as Error).message));
			if (m) return { ...base, status: Number(m[1]), ms: Date.now() - started, text: m[2] };
			return { ...base, status: (e as Error).name === 'TimeoutError' ? 'timeout' : 'error', ms: Date.now() - started, text: String((e as Error).message) };
		}
	};

	/** Checks every answer must pass, whoever answered. */
	const checkAnswer = (c: CorpusCase, g: Got) => {
		const where = `${c.file}`;
		if (g.status !== c.expect.status) problems.push(`${where}: expected ${c.expect.status} (${c.expect.by}), got ${g.status} in ${g.ms} ms: ${g.text.slice(0, 300)}`);
		for (const s of SECRETS) if (g.text.includes(s)) problems.push(`${where}: the answer echoes a secret`);
		if (KEYS.some((k) => g.text.includes(k))) problems.push(`${where}: the answer holds a key`);
		if (STACK.test(g.text)) problems.push(`${where}: the answer holds a stack trace: ${g.text.slice(0, 300)}`);
		if (typeof g.status === 'number' && g.status >= 500 && c.expect.by !== 'n8n') problems.push(`${where}: a 5xx of ours`);
		if (c.expect.json && typeof g.status === 'number') {
			let json: unknown;
			try {
				json = JSON.parse(g.text);
			} catch {
				json = undefined;
			}
			if (!matchesSubset(json, c.expect.json)) problems.push(`${where}: answer ${g.text.slice(0, 300)} does not match ${JSON.stringify(c.expect.json)}`);
		}
	};

	beforeAll(async () => {
		[smtpBuyer, smtpSeller, shop] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer()]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-corpus.sqlite');
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' });
		try {
			await store.upsertProduct({ sku: SKU, name: 'Steam 10', lowStockThreshold: 1 });
			expect((await store.importKeys({ sku: SKU, keys: KEYS })).imported).toBe(KEYS.length);
		} finally {
			await store.close();
		}
		await n8n.importCredentials([
			{ id: CRED_IDS.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: CRED_IDS.shopApi, name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: shop.url, authType: 'bearer', token: SHOP_TOKEN, signingSecret: SIGNING_SECRET, ignoreSslIssues: false } },
			{ id: CRED_IDS.smtp, name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtpBuyer.port, security: 'none', user: '', password: '', from: 'Corpus Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: CRED_IDS.sellerSmtp, name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: smtpSeller.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
			{ id: CRED_IDS.formLogin, name: 'Auto Delivery Forms Login', type: 'httpBasicAuth', data: { user: 'seller', password: FORM_PASSWORD } },
		]);
		const shipped = ['order-paid.json', 'order-refunded.json', 'import-keys.json'].map((f) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', f), 'utf8')) as WorkflowInput);
		await n8n.importWorkflow(shipped);
		for (const id of Object.values(WF)) await n8n.publish(id);
		await n8n.start();
		marks.setup = Date.now() - t0;
		log(`[corpus] ${cases.length} cases; setup ${(marks.setup / 1000).toFixed(1)} s`);
	});

	afterAll(async () => {
		if (got.length) {
			log('[corpus] case | expected | got | ms | answer');
			for (const g of got) log(`[corpus] ${g.name} | ${g.expected} | ${g.status} | ${g.ms} | ${g.text.replace(/\s+/g, ' ').slice(0, 160)}`);
		}
		log(`[corpus] marks (ms since start): ${JSON.stringify(marks)}, total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		await n8n?.dispose();
		await Promise.all([smtpBuyer?.close(), smtpSeller?.close(), shop?.close()]);
	});

	it('answers every rejected case with the expected status, quickly, writing nothing and sending nothing', async () => {
		const start = await storeCounts();
		// the import form's refusals run its workflow, which must still write nothing
		const rejected = cases.filter((c) => c.expect.by !== 'workflow' || c.target === 'import-form');
		for (const c of rejected) {
			const before = await storeCounts();
			const p = placeholders(c);
			const g = c.target === 'import-form' ? await sendForm(c, p) : await sendWebhook(c, p);
			got.push(g);
			checkAnswer(c, g);
			const form = g as Awaited<ReturnType<typeof sendForm>>;
			if (c.expect.formTitle !== undefined && form.title !== c.expect.formTitle) problems.push(`${c.file}: completion page "${form.title}", expected "${c.expect.formTitle}"`);
			if (c.expect.formMessage !== undefined && !form.message?.includes(c.expect.formMessage)) problems.push(`${c.file}: completion message ${JSON.stringify(form.message)} lacks ${JSON.stringify(c.expect.formMessage)}`);
			for (const t of c.expect.pageLacks ?? []) if (form.page?.includes(t)) problems.push(`${c.file}: the completion page holds the raw text ${JSON.stringify(t)}`);
			if (!(await alive())) {
				problems.push(`${c.file}: n8n did not answer /healthz afterwards`);
				break;
			}
			const after = await storeCounts();
			if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`${c.file}: the key store changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
		}
		marks.rejected = Date.now() - t0;
		await sleep(1500); // anything a rejected case might have started would have mailed by now
		expect(problems).toEqual([]);
		expect(await storeCounts()).toEqual(start);
		expect(smtpBuyer.messages).toHaveLength(0);
		expect(smtpSeller.messages).toHaveLength(0);
		expect(shop.requests).toHaveLength(0);
		expect(await n8n.sqlite().executions({ workflowId: WF.orderPaid })).toEqual([]);
		expect(await n8n.sqlite().executions({ workflowId: WF.orderRefunded })).toEqual([]);
		expect(rejected.length).toBeGreaterThanOrEqual(60);
	});

	it('runs the workflow for odd but valid orders and answers as documented, with only the expected mails', async () => {
		const odd = cases.filter((c) => c.expect.by === 'workflow' && c.target !== 'import-form');
		for (const c of odd) {
			const p = placeholders(c);
			const g = await sendWebhook(c, p);
			got.push(g);
			checkAnswer(c, g);
			const orderId = p.orderId;
			const buyer = () => smtpBuyer.messages.filter((m) => m.to.includes(p.email));
			const seller = () => smtpSeller.messages.filter((m) => m.subject.includes(orderId));
			if (c.expect.sellerMails) await waitForMail(smtpSeller, (m) => m.subject.includes(orderId), { count: c.expect.sellerMails }).catch((e: Error) => problems.push(`${c.file}: ${e.message}`));
			if (c.expect.buyerMails) await waitForMail(smtpBuyer, (m) => m.to.includes(p.email), { count: c.expect.buyerMails }).catch((e: Error) => problems.push(`${c.file}: ${e.message}`));
			await sleep(300);
			if (buyer().length !== (c.expect.buyerMails ?? 0)) problems.push(`${c.file}: ${buyer().length} buyer mail(s), expected ${c.expect.buyerMails ?? 0}`);
			if (c.expect.sellerMails !== undefined && seller().length !== c.expect.sellerMails) problems.push(`${c.file}: ${seller().length} seller mail(s), expected ${c.expect.sellerMails}`);
			for (const m of buyer()) {
				if (m.to.join() !== p.email) problems.push(`${c.file}: the buyer mail went to ${m.to.join()}`);
				const header = m.raw.split(/\r?\n\r?\n/)[0];
				if (/^(bcc|cc|x-injected):/im.test(header)) problems.push(`${c.file}: an injected mail header: ${header.slice(0, 500)}`);
				const keys = KEYS.filter((k) => m.text.includes(k)).length;
				if (c.expect.keys !== undefined && keys !== c.expect.keys) problems.push(`${c.file}: ${keys} key(s) in the mail, expected ${c.expect.keys}`);
				for (const t of c.expect.mailHtmlLacks ?? []) if ((m.html ?? '').includes(t)) problems.push(`${c.file}: the HTML mail holds the raw text ${JSON.stringify(t)}`);
			}
			if (!(await alive())) problems.push(`${c.file}: n8n did not answer /healthz afterwards`);
		}
		marks.workflow = Date.now() - t0;
		const everyone = [...smtpBuyer.messages, ...smtpSeller.messages];
		expect(everyone.filter((m) => m.to.some((t) => t.includes('victim')) || /^bcc:/im.test(m.raw.split(/\r?\n\r?\n/)[0]))).toEqual([]);
		expect(smtpSeller.messages.filter((m) => KEYS.some((k) => m.text.includes(k) || m.raw.includes(k)))).toEqual([]);
		expect(problems).toEqual([]);
		// the tables SQL in a sku or a name named are still there
		expect(Object.keys(await storeCounts())).toEqual(expect.arrayContaining(['ad_keys', 'ad_deliveries']));
	});

	it('still delivers a valid order afterwards (its exact replay inside the window answered the same) and imports a good key file', async () => {
		const c: CorpusCase = { name: 'valid', target: 'order-paid', why: 'a valid order', body: { order: {} }, expect: { status: 200, by: 'workflow' }, file: 'valid' };
		const p = placeholders(c);
		const req = webhookRequest(c, p, SIGNING_SECRET);
		const post = async () => {
			const res = await fetch(n8n.webhookUrl(PATHS['order-paid']), { method: 'POST', headers: req.headers, body: new Uint8Array(req.body!), signal: AbortSignal.timeout(30_000) });
			return { status: res.status, json: (await res.json()) as Record<string, unknown> };
		};
		const first = await post();
		expect(first).toEqual({ status: 200, json: { orderId: p.orderId, status: 'delivered', retry: false, lines: [{ sku: SKU, quantity: 1, status: 'shipped' }] } });
		const [mail] = await waitForMail(smtpBuyer, (m) => m.to.includes(p.email));
		expect(KEYS.filter((k) => mail.text.includes(k))).toHaveLength(1);
		expect(shop.requests.filter((r) => r.path === `/orders/${p.orderId}/ship`)).toHaveLength(1);
		const again = await post();
		expect(again).toEqual(first);
		await sleep(500);
		expect(smtpBuyer.messages.filter((m) => m.to.includes(p.email))).toHaveLength(1);
		expect(await alive()).toBe(true);
		// and the import form still imports a good file
		const fresh = [`CORPUSKEY-NEW-${rand()}`, `CORPUSKEY-NEW-${rand()}`];
		KEYS.push(...fresh);
		const imported = await submitForm(n8n.formUrl(PATHS['import-form']), basicAuth('seller', FORM_PASSWORD), [SKU, '', { content: fresh.join('\n'), fileName: 'keys.txt' }, 'TXT (one key per line)', '1']);
		expect(imported.title).toBe('Keys imported / 导入完成');
		expect(imported.message).toContain('Imported / 新增: 2');
		// no key in plain text in anything n8n printed
		const logs = n8n.logs();
		expect(KEYS.filter((k) => logs.includes(k))).toEqual([]);
		expect(SECRETS.filter((s) => logs.includes(s))).toEqual([]);
		marks.valid = Date.now() - t0;
	});
});
