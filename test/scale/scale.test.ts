/**
 * `npm run test:scale`: the bundled order-paid workflow, as shipped, in a real n8n 2.41.1 cluster
 * in queue mode (main + `n8n webhook` + 2 × `n8n worker --concurrency=10`, our own Redis, n8n's
 * database on PostgreSQL — cluster.ts), the key store on PostgreSQL, then on MariaDB.
 *
 * A concurrent shop client sends 1,000 signed paid orders (SCALE_ORDERS), ≥ 50 in flight, 10 % of
 * them 2–5 times at once, multi-line and quantity > 1 orders among them, two shops sharing order
 * ids, 19-digit ids sent as JSON numbers, the pool ~5 % short of the demand. Like a shop, it sends
 * an order again while the answer says `retry: true` or did not come (bounded). Meanwhile: one
 * worker is SIGKILLed (and started again), Redis is killed and restarted, and the SMTP server
 * refuses every message (451) for 30 s.
 *
 * Afterwards Stock Alert's stuck-delivery check (a workflow run by the cluster) must list exactly
 * the deliveries the store holds as claimed-but-not-sent or sent-but-not-shipped; sending those
 * orders again (the shop's retry, the documented recovery) completes them; and then every promise
 * is checked from the peers and the store: one mail per delivered order to its own buyer with
 * exactly its keys, one ship call per delivered line after the mail, out of stock only where the
 * stock ran out, no key twice, no key lost; both workers ran executions; and no key in plain text
 * in n8n's database, Redis, n8n's folders (binary data included), any process's log or the store's
 * audit events.
 *
 * The one exception the test names instead of hiding: a worker killed after the SMTP server took a
 * mail (or the shop a ship call) but before it was recorded. Nothing can tell that apart from a call
 * that never arrived, so it is made again once the lease expires (at least once across a crash,
 * never zero times). Such a repeat is allowed only for a mail or ship call received within 2 s of
 * the kill, at most 10 (the killed worker's concurrency); the report lists every one.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore, type StoreConfig } from '../../nodes/core/store';
import { signPayload } from '../../nodes/core/intake';
import { packTarball, type WorkflowInput } from '../e2e/n8nInstance';
import { REPO_ROOT } from '../e2e/pack';
import { SHIPPED_CREDENTIAL_IDS, shippedCredentials } from '../e2e/shippedCredentials';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { filesUnder, freshDatabase, MYSQL, PG, QueueCluster, redisDump } from './cluster';

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = () => randomBytes(5).toString('hex').toUpperCase();

const ORDERS = Number(process.env.SCALE_ORDERS ?? 1000);
const IN_FLIGHT = Number(process.env.SCALE_IN_FLIGHT ?? 60);
const SKUS = ['SC-A', 'SC-B', 'SC-C'];
const SHOPS = ['scale-north', 'scale-south'];
// Fixed by the shipped workflows (README / docs/workflows.md).
const WF_ORDER_PAID = 'adWfOrderPaid001';
const WF_STUCK = 'adScaleStuck0001';
const PAID_PATH = 'auto-delivery/order-paid';
const STUCK_PATH = 'scale/stuck-deliveries';
const KEY_RE = /SC-[ABC]-\d{6}-[0-9A-F]{10}/g;

interface Line { sku: string; quantity: number }
interface Order { shop: string; orderId: string; email: string; lines: Line[]; body: string; copies: number }
interface Answer { status: number; json: Record<string, unknown> | null; error?: string }

/** The orders: ids shared by the two shops for the first 20 % of the second shop, 19-digit ids sent as JSON numbers for even orders. */
function makeOrders(n: number): Order[] {
	const orders: Order[] = [];
	const northIds: string[] = [];
	const base = 2840188394502300000n;
	for (let i = 0; i < n; i++) {
		const shop = i < Math.ceil(n * 0.6) ? SHOPS[0] : SHOPS[1];
		const j = shop === SHOPS[0] ? i : i - Math.ceil(n * 0.6);
		const orderId = shop === SHOPS[1] && j < Math.floor(n * 0.2) ? northIds[j] : String(base + BigInt(i));
		if (shop === SHOPS[0]) northIds.push(orderId);
		const r = i % 20;
		const sku = SKUS[i % 3];
		const lines: Line[] = r < 14 ? [{ sku, quantity: 1 }] : r < 17 ? [{ sku, quantity: 2 + (i % 2) }] : [{ sku, quantity: 1 }, { sku: SKUS[(i + 1) % 3], quantity: 1 + (i % 2) }];
		const email = `b${i}@${shop}.example.com`;
		const order = {
			event: 'order.paid',
			orderId: '__ID__',
			shop,
			buyer: { id: `${shop}-${i}`, name: `买家 ${i}`, email, ip: `198.51.${(i >> 8) & 255}.${i & 255}` },
			items: lines.map((l) => ({ sku: l.sku, name: `Key ${l.sku}`, quantity: l.quantity, price: 9.9 })),
			amount: Math.round(lines.reduce((a, l) => a + l.quantity * 9.9, 0) * 100) / 100,
			currency: 'CNY',
			paidAt: new Date(Date.now() - (n - i) * 1000).toISOString(),
		};
		const body = JSON.stringify(order).replace('"__ID__"', i % 2 === 0 ? orderId : JSON.stringify(orderId));
		orders.push({ shop, orderId, email, lines, body, copies: 1 });
	}
	// 10 % of the orders are sent 2–5 times at once (a shop retrying while the first call runs).
	for (let i = 0; i < n; i += 10) orders[(i * 7 + 3) % n].copies = 2 + ((i / 10) % 4);
	return orders;
}

function keyStoreData(kind: 'postgres' | 'mysql', database: string, secret: string): Record<string, unknown> {
	const c = kind === 'postgres' ? PG : MYSQL;
	return { database: kind, host: c.host, port: c.port, databaseName: database, user: c.user, password: c.password, ssl: false, ignoreSslIssues: false, encryptionSecret: secret, tablePrefix: 'ad_' };
}

/**
 * Stock Alert's stuck-delivery check, run by the cluster when called (the bundled stock-alert.json
 * runs it on a schedule): deliveries claimed but not sent, or sent but not shipped, for 1 minute or
 * more (0 would turn a check off); waiting lines (out of stock) are not asked for.
 */
const stuckWorkflow: WorkflowInput = {
	id: WF_STUCK,
	name: 'scale: stuck deliveries now',
	nodes: [
		{ id: 'w1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'scale-stuck-webhook', parameters: { httpMethod: 'POST', path: STUCK_PATH, responseMode: 'lastNode', responseData: 'allEntries', options: {} } },
		{
			id: 'w2',
			name: 'Check Deliveries',
			type: 'n8n-nodes-auto-delivery.stockAlert',
			typeVersion: 1,
			position: [240, 0],
			alwaysOutputData: true,
			parameters: { operation: 'checkDeliveries', notSentMinutes: 1, notShippedMinutes: 1, waitingMinutes: 0, limit: 1000 },
			credentials: { autoDeliveryKeyStore: { id: SHIPPED_CREDENTIAL_IDS.keyStore, name: 'Auto Delivery Key Store' } },
		},
	],
	connections: { Webhook: { main: [[{ node: 'Check Deliveries', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
};

async function post(url: string, body: string, secret: string, timeoutMs: number): Promise<Answer> {
	const ts = Math.floor(Date.now() / 1000);
	try {
		const res = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-timestamp': String(ts), 'x-signature': signPayload(secret, ts, body) },
			body,
			signal: AbortSignal.timeout(timeoutMs),
		});
		const text = await res.text();
		let json: Record<string, unknown> | null = null;
		try {
			json = JSON.parse(text) as Record<string, unknown>;
		} catch {
			json = null;
		}
		return { status: res.status, json };
	} catch (err) {
		return { status: 0, json: null, error: (err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message };
	}
}

/** Final for a shop: 200, or 503 whose only unfinished lines are out of stock (the shop waits for stock, not for us). */
function isFinal(a: Answer): boolean {
	if (a.status === 200) return true;
	if (a.status !== 503 || !a.json || !Array.isArray(a.json.lines)) return false;
	return (a.json.lines as Array<{ status: string }>).every((l) => l.status === 'shipped' || l.status === 'out_of_stock');
}

async function inLanes<T>(work: T[], lanes: number, fn: (w: T) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(Array.from({ length: Math.min(lanes, work.length) }, async () => {
		while (next < work.length) await fn(work[next++]);
	}));
}

function scanFor(keys: Set<string>, where: string, text: string, hits: string[]): void {
	for (const m of text.matchAll(KEY_RE)) if (keys.has(m[0])) hits.push(`${where}: ${m[0].slice(0, 7)}…`);
}

jest.setTimeout(40 * 60_000);

describe.each(['postgres', 'mysql'] as const)('queue mode: main + webhook process + 2 workers, key store on %s', (kind) => {
	let cluster: QueueCluster | undefined;
	let smtp: SmtpPeer;
	let shop: ShopPeer;
	let dropStoreDb: (() => Promise<void>) | undefined;
	const storeDb = `ad_scale_store_${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

	afterAll(async () => {
		if (cluster) {
			for (const f of cluster.logFiles()) {
				if (process.env.AD_SCALE_LOGS) fs.copyFileSync(f, path.join(process.env.AD_SCALE_LOGS, `${kind}-${path.basename(f)}`));
			}
			await cluster.dispose();
		}
		await dropStoreDb?.().catch(() => undefined);
		await smtp?.close();
		await shop?.close();
	});

	it(`${ORDERS} orders with retries, a killed worker, a Redis restart and 30 s of refused mail: each delivered once`, async () => {
		const t0 = Date.now();
		const signingSecret = `scale-sign-${rand()}`;
		const storeSecret = `scale-store-${rand()}${rand()}`;
		smtp = await startSmtpServer();
		shop = await startShopServer();

		// ---- the store: products and a pool ~5 % short of the demand
		dropStoreDb = await freshDatabase(kind, storeDb);
		const orders = makeOrders(ORDERS);
		const demand = new Map<string, number>(SKUS.map((s) => [s, 0]));
		for (const o of orders) for (const l of o.lines) demand.set(l.sku, demand.get(l.sku)! + l.quantity);
		const imported = new Map<string, string[]>();
		const cfg = { ...(keyStoreData(kind, storeDb, storeSecret) as unknown as StoreConfig) };
		const store = await KeyStore.open(cfg);
		try {
			for (const sku of SKUS) {
				const n = Math.floor(demand.get(sku)! * 0.95);
				const keys = Array.from({ length: n }, (_, i) => `${sku}-${String(i).padStart(6, '0')}-${rand()}`);
				imported.set(sku, keys);
				await store.upsertProduct({ sku, name: `Key ${sku}`, lowStockThreshold: 0 });
				await store.importKeys({ sku, keys });
			}
		} finally {
			await store.close();
		}
		const allKeys = new Set([...imported.values()].flat());
		const skuOfKey = new Map([...imported.entries()].flatMap(([sku, ks]) => ks.map((k) => [k, sku] as const)));
		log(`[scale:${kind}] ${orders.length} orders, ${orders.reduce((a, o) => a + o.copies, 0)} calls, demand ${JSON.stringify(Object.fromEntries(demand))}, pool ${JSON.stringify(Object.fromEntries([...imported].map(([k, v]) => [k, v.length])))}`);

		// ---- the cluster, the bundled order-paid workflow as shipped
		cluster = await QueueCluster.create({ log });
		const shipped = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', 'order-paid.json'), 'utf8')) as WorkflowInput;
		await cluster.setup({
			tarball: await packTarball({ log }),
			credentials: shippedCredentials({
				keyStore: keyStoreData(kind, storeDb, storeSecret),
				shopUrl: shop.url,
				shopToken: `scale-${rand()}`,
				signingSecret,
				smtpPort: smtp.port,
				from: 'Scale Shop <shop@example.com>',
				formPassword: `form-${rand()}`,
			}),
			workflows: [shipped, stuckWorkflow],
			publish: [WF_ORDER_PAID, WF_STUCK],
		});
		await cluster.startAll(PAID_PATH);
		const c = cluster;
		const tReady = Date.now();

		// ---- the run: every call of every order, shuffled, IN_FLIGHT at once; faults at 20 %, 45 %, 65 % of the calls
		// Copies of one order are adjacent, so they go out together (a shop's overlapping retries).
		const shuffled = orders.map((_, i) => i);
		for (let i = shuffled.length - 1; i > 0; i--) {
			const j = Math.floor(Math.random() * (i + 1));
			[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
		}
		const calls = shuffled.flatMap((i) => Array.from({ length: orders[i].copies }, () => i));
		const last = new Map<number, Answer>();
		const attempts = new Map<number, number>();
		let done = 0;
		const faults: string[] = [];
		let killAt = 0;
		const faultTasks: Array<Promise<void>> = [];
		const onProgress = () => {
			done++;
			if (done === Math.floor(calls.length * 0.2)) {
				faultTasks.push(
					(async () => {
						killAt = Date.now();
						await c.workers[0].kill();
						faults.push(`${((killAt - tReady) / 1000).toFixed(1)} s: SIGKILL worker1 (pid group), started again 5 s later`);
						await sleep(5000);
						await c.startWorker(0);
					})(),
				);
			}
			if (done === Math.floor(calls.length * 0.45)) {
				faultTasks.push(
					(async () => {
						const at = Date.now();
						await c.restartRedis(1500);
						faults.push(`${((at - tReady) / 1000).toFixed(1)} s: Redis killed, back after ${((Date.now() - at) / 1000).toFixed(1)} s`);
					})(),
				);
			}
			if (done === Math.floor(calls.length * 0.65)) {
				faultTasks.push(
					(async () => {
						const at = Date.now();
						smtp.setFault('tempfail');
						await sleep(30_000);
						smtp.setFault('none');
						faults.push(`${((at - tReady) / 1000).toFixed(1)} s: SMTP server answered 451 to every message for 30 s`);
					})(),
				);
			}
		};
		const url = c.webhookUrl(PAID_PATH);
		const deadline = Date.now() + 12 * 60_000;
		// A shop retries a few times, then gives up until someone looks (here: after Stock Alert's check).
		const sendUntilFinal = async (i: number, timeoutMs: number, maxAttempts: number) => {
			for (let attempt = 1; ; attempt++) {
				attempts.set(i, (attempts.get(i) ?? 0) + 1);
				const a = await post(url, orders[i].body, signingSecret, timeoutMs);
				last.set(i, a);
				if (isFinal(a) || attempt >= maxAttempts || Date.now() > deadline) return;
				await sleep(2000 + Math.random() * 1000);
			}
		};
		await inLanes(calls, IN_FLIGHT, async (i) => {
			await sendUntilFinal(i, 90_000, 4);
			onProgress();
		});
		await Promise.all(faultTasks);
		const tRun = Date.now();
		const notFinal = [...last.entries()].filter(([, a]) => !isFinal(a)).map(([i]) => i);
		log(`[scale:${kind}] run: ${calls.length} calls (${[...attempts.values()].reduce((a, b) => a + b, 0)} requests with retries) in ${((tRun - tReady) / 1000).toFixed(0)} s; not final: ${notFinal.length}`);

		// ---- wait until n8n has no execution left running
		const n8nDb = c.n8nDb();
		try {
			for (const until = Date.now() + 5 * 60_000; ; ) {
				const [{ n }] = (await n8nDb('execution_entity').whereIn('status', ['new', 'running']).count({ n: '*' })) as Array<{ n: string }>;
				if (Number(n) === 0) break;
				if (Date.now() > until) break; // crashed leftovers of the killed worker may stay "running"; the checks below decide
				await sleep(1000);
			}

			// ---- Stock Alert's stuck check (1 minute: its smallest age) = what the store holds as claimed-not-sent / sent-not-shipped
			await sleep(Math.max(0, tRun + 62_000 - Date.now()));
			const s2 = await KeyStore.open(cfg);
			const { internals } = await import('../../nodes/core/store/internals');
			const t = internals(s2).t;
			const db = internals(s2).db;
			try {
				const stuckInStore = (await db(t.deliveries).whereIn('status', ['claimed', 'sent']).select('id', 'status')) as Array<{ id: number; status: string }>;
				const stuckAnswer = await post(c.webhookUrl(STUCK_PATH), '{}', signingSecret, 120_000);
				expect(stuckAnswer.status).toBe(200);
				const listed = ((Array.isArray(stuckAnswer.json) ? stuckAnswer.json : []) as Array<Record<string, unknown>>).filter((x) => x.deliveryId !== undefined && x.problem !== 'waiting');
				expect(listed.map((x) => Number(x.deliveryId)).sort((a, b) => a - b)).toEqual(stuckInStore.map((r) => Number(r.id)).sort((a, b) => a - b));
				for (const x of listed) expect(x.problem).toBe(stuckInStore.find((r) => Number(r.id) === Number(x.deliveryId))!.status === 'claimed' ? 'not_sent' : 'not_shipped');
				log(`[scale:${kind}] Stock Alert listed ${listed.length} stuck deliveries (${listed.filter((x) => x.problem === 'not_sent').length} not sent, ${listed.filter((x) => x.problem === 'not_shipped').length} not shipped); the store holds ${stuckInStore.length}`);

				// ---- recovery: the shop sends those orders (and any without a final answer) again
				const stuckOrders = new Set<number>(notFinal);
				const stuckRows = (await db(t.deliveries).whereIn('id', listed.map((x) => Number(x.deliveryId))).select('shop', 'order_id')) as Array<{ shop: string; order_id: string }>;
				for (const r of stuckRows) orders.forEach((o, i) => o.shop === r.shop && o.orderId === r.order_id && stuckOrders.add(i));
				await inLanes([...stuckOrders], 20, (i) => sendUntilFinal(i, 200_000, 30));
				const still = [...stuckOrders].filter((i) => !isFinal(last.get(i)!));
				expect(still.map((i) => ({ order: orders[i].orderId, answer: last.get(i) }))).toEqual([]);
				log(`[scale:${kind}] recovery: ${stuckOrders.size} orders sent again, all final`);

				// ---- the promises, from the store and the peers
				const deliveries = (await db(t.deliveries).select('id', 'shop', 'order_id', 'sku', 'quantity', 'status', 'sent_at')) as Array<{ id: number; shop: string; order_id: string; sku: string; quantity: number; status: string }>;
				const waiting = (await db(t.waiting).where({ status: 'waiting' }).select('shop', 'order_id', 'sku', 'quantity', 'reason')) as Array<{ shop: string; order_id: string; sku: string; quantity: number; reason: string }>;
				const keyRows = (await db(t.keys).select('sku', 'status').count({ n: '*' }).groupBy('sku', 'status')) as Array<{ sku: string; status: string; n: string }>;
				expect(deliveries.filter((d) => d.status !== 'shipped')).toEqual([]);
				expect(new Set(waiting.map((w) => w.reason))).toEqual(waiting.length ? new Set(['out_of_stock']) : new Set());

				// no key lost: available + assigned + revoked + void = imported, per SKU
				for (const sku of SKUS) {
					const total = keyRows.filter((r) => r.sku === sku).reduce((a, r) => a + Number(r.n), 0);
					expect({ sku, total }).toEqual({ sku, total: imported.get(sku)!.length });
				}
				// every line exactly once: delivered or waiting for stock, never both, never neither
				const lineKey = (shop: string, id: string, sku: string) => `${shop}\u0000${id}\u0000${sku}`;
				const delivered = new Map(deliveries.map((d) => [lineKey(d.shop, d.order_id, d.sku), d]));
				const waits = new Map(waiting.map((w) => [lineKey(w.shop, w.order_id, w.sku), w]));
				const problems: string[] = [];
				for (const o of orders) {
					for (const l of o.lines) {
						const k = lineKey(o.shop, o.orderId, l.sku);
						const d = delivered.get(k);
						if (d && waits.has(k)) problems.push(`${k}: delivered and waiting`);
						if (!d && !waits.has(k)) problems.push(`${k}: neither delivered nor waiting`);
						if (d && Number(d.quantity) !== l.quantity) problems.push(`${k}: quantity ${d.quantity} ≠ ${l.quantity}`);
					}
				}
				expect(problems).toEqual([]);
				expect(delivered.size + waits.size).toBe(orders.reduce((a, o) => a + o.lines.length, 0));
				// out of stock only where stock ran out: no waiting line could have been served by what is left
				const available = new Map(SKUS.map((s) => [s, Number(keyRows.find((r) => r.sku === s && r.status === 'available')?.n ?? 0)]));
				for (const w of waiting) expect({ sku: w.sku, waitingQuantity: w.quantity, leftOver: available.get(w.sku)! < Number(w.quantity) }).toEqual({ sku: w.sku, waitingQuantity: w.quantity, leftOver: true });

				// mails: one per delivered line (Notify Buyer sends each delivery), to the order's own buyer, with exactly
				// that line's keys; none for an order with nothing delivered; no key to two buyers
				const buyerMails = smtp.messages.filter((m) => m.to.some((a) => /^b\d+@scale-/.test(a)));
				const mailsTo = new Map<string, typeof buyerMails>();
				for (const m of buyerMails) for (const a of m.to) mailsTo.set(a, [...(mailsTo.get(a) ?? []), m]);
				const keyOwner = new Map<string, string>();
				const perOrder = new Map<string, number>();
				const duplicates: Array<{ order: string; mails: number; lines: number; times: number[] }> = [];
				for (const o of orders) {
					const mine = o.lines.filter((l) => delivered.has(lineKey(o.shop, o.orderId, l.sku)));
					const mails = mailsTo.get(o.email) ?? [];
					const seen = `${mails.length} of ${mine.length}`;
					perOrder.set(seen, (perOrder.get(seen) ?? 0) + 1);
					if (mails.length > mine.length) duplicates.push({ order: `${o.shop}/${o.orderId}`, mails: mails.length, lines: mine.length, times: mails.map((m) => m.at) });
					else if (mails.length < mine.length) problems.push(`${o.shop}/${o.orderId}: ${mails.length} mails for ${mine.length} delivered lines`);
					for (const m of mails) {
						const keys = [...m.text.matchAll(KEY_RE)].map((x) => x[0]);
						const line = mine.find((l) => l.sku === skuOfKey.get(keys[0] ?? ''));
						if (!line || keys.length !== line.quantity || keys.some((k) => skuOfKey.get(k) !== line.sku)) problems.push(`${o.shop}/${o.orderId}: a mail with ${keys.length} key(s) that is not one line's`);
						for (const k of keys) {
							const owner = keyOwner.get(k);
							if (owner !== undefined && owner !== o.email) problems.push(`key ${k.slice(0, 7)}… mailed to ${owner} and ${o.email}`);
							keyOwner.set(k, o.email);
						}
					}
				}
				expect(problems).toEqual([]);
				// A second mail only where the SIGKILL cut a send: the killed worker's mail reached the server (within
				// 2 s of the kill) but its send was never recorded, so the retry sent it again after the send lease.
				const nearKill = (at: number) => Math.abs(at - killAt) < 2000;
				for (const d of duplicates) expect({ d, cutByKill: d.times.some(nearKill) }).toEqual({ d, cutByKill: true });

				// ship calls: one per delivered line, after the buyer's mail
				const shipCalls = shop.requests.filter((r) => /^\/orders\/[^/]+\/ship$/.test(r.path) && r.outcome === 200);
				const shipsPerLine = new Map<string, number[]>();
				for (const r of shipCalls) {
					const b = r.body as { orderId: string; sku: string };
					const k = `${b.orderId}\u0000${b.sku}`;
					shipsPerLine.set(k, [...(shipsPerLine.get(k) ?? []), r.at]);
				}
				const expectedShips = new Map<string, number[]>();
				for (const o of orders) {
					for (const l of o.lines) {
						if (!delivered.has(lineKey(o.shop, o.orderId, l.sku))) continue;
						const k = `${o.orderId}\u0000${l.sku}`;
						const mailOfLine = (mailsTo.get(o.email) ?? []).filter((m) => [...m.text.matchAll(KEY_RE)].some((x) => skuOfKey.get(x[0]) === l.sku));
						expectedShips.set(k, [...(expectedShips.get(k) ?? []), Math.min(...mailOfLine.map((m) => m.at))]);
					}
				}
				const shipProblems: string[] = [];
				const shipDuplicates: string[] = [];
				for (const [k, mailTimes] of expectedShips) {
					const ships = (shipsPerLine.get(k) ?? []).sort((a, b) => a - b);
					mailTimes.sort((a, b) => a - b);
					// One more ship call only where the SIGKILL cut one: the shop got it within 2 s of the kill, its answer was never recorded.
					const extra = ships.length - mailTimes.length;
					if (extra === 1 && ships.some(nearKill)) shipDuplicates.push(`${k.replace('\u0000', ' / ')}: ${ships.map((x) => x - killAt).join(', ')} ms from the kill`);
					else if (extra !== 0) shipProblems.push(`${k}: ${ships.length} ship calls for ${mailTimes.length} deliveries, at ${ships.map((x) => x - killAt).join(', ')} ms from the kill`);
					mailTimes.forEach((m, n) => ships[n] < m && shipProblems.push(`${k}: shipped before the mail`));
				}
				for (const k of shipsPerLine.keys()) if (!expectedShips.has(k)) shipProblems.push(`${k}: ship call for an undelivered line`);
				expect(shipProblems).toEqual([]);
				// Everything a crash can repeat is bounded by what the killed worker had in flight (--concurrency=10).
				expect(duplicates.length + shipDuplicates.length).toBeLessThanOrEqual(10);

				// the work was spread over both workers
				const perWorker = c.workers.map((w) => (w.logs().match(/Worker started execution \d+/g) ?? []).length);
				log(`[scale:${kind}] executions started per worker: ${perWorker.join(' / ')}`);
				for (const n of perWorker) expect(n).toBeGreaterThan(ORDERS / 10);

				// ---- secret hygiene: no imported key in plain text anywhere
				await c.stopAll();
				const hits: string[] = [];
				const tables = (await n8nDb.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows as Array<{ table_name: string }>;
				let rows = 0;
				for (const { table_name } of tables) {
					const r = (await n8nDb.raw(`SELECT row_to_json(x)::text AS j FROM "${table_name}" x`)).rows as Array<{ j: string }>;
					rows += r.length;
					for (const { j } of r) scanFor(allKeys, `n8n db ${table_name}`, j, hits);
				}
				await c.startRedis();
				const redisText = redisDump(c.ports.redis);
				scanFor(allKeys, 'redis', redisText, hits);
				const files = filesUnder(c.instance.userFolder);
				for (const f of files) scanFor(allKeys, path.relative(c.dir, f), fs.readFileSync(f).toString('latin1'), hits);
				for (const f of c.logFiles()) scanFor(allKeys, path.basename(f), fs.readFileSync(f, 'utf8'), hits);
				const events = (await db(t.events).select('*')) as unknown[];
				scanFor(allKeys, 'store events', JSON.stringify(events), hits);
				const keysInStore = (await db(t.keys).select('*')) as unknown[];
				scanFor(allKeys, 'store keys table', JSON.stringify(keysInStore), hits);
				expect(hits).toEqual([]);
				const binDir = path.join(c.instance.n8nFolder, 'binaryData');
				log(
					`[scale:${kind}] hygiene: 0 keys in ${tables.length} n8n tables (${rows} rows), Redis (${redisText.split('\n')[0]}, ${(redisText.length / 1e6).toFixed(1)} MB), ` +
						`${files.length} files of the user folder (binary-data folder ${fs.existsSync(binDir) ? `${filesUnder(binDir).length} files` : 'absent'}), ${c.logFiles().length} process logs, ${events.length} audit events`,
				);

				// ---- what the buyers saw
				const shipped = deliveries.length;
				log(
					[
						`[scale:${kind}] REPORT (${((Date.now() - t0) / 1000).toFixed(0)} s in all; cluster ready in ${((tReady - t0) / 1000).toFixed(0)} s, run ${((tRun - tReady) / 1000).toFixed(0)} s)`,
						`  faults: ${faults.join('; ')}`,
						`  orders: ${orders.length} (${orders.filter((o) => o.copies > 1).length} sent 2–5 times at once, ${orders.filter((o) => o.lines.length > 1).length} multi-line, ${orders.filter((o) => o.lines.some((l) => l.quantity > 1)).length} with quantity > 1, ${orders.filter((o, i) => orders.findIndex((p) => p.orderId === o.orderId) !== i).length} sharing an id with the other shop)`,
						`  requests: ${[...attempts.values()].reduce((a, b) => a + b, 0)} (shop retries included)`,
						`  delivery lines shipped: ${shipped}; waiting for stock: ${waiting.length} (${waiting.reduce((a, w) => a + Number(w.quantity), 0)} keys short)`,
						`  mails per order (buyers), mails of delivered lines: ${[...perOrder.entries()].sort().map(([n, k]) => `${n}: ${k} orders`).join(', ')}`,
						`  ship calls: ${shipCalls.length}`,
						`  repeated because the SIGKILL cut them (sent, not yet recorded): ${duplicates.length} mail(s)${duplicates.map((d) => ` [${d.order}: ${d.mails} mails for ${d.lines} line(s), ${d.times.map((x) => x - killAt).join(' / ')} ms from the kill]`).join('')}, ${shipDuplicates.length} ship call(s)${shipDuplicates.map((x) => ` [${x}]`).join('')}`,
						`  keys: ${SKUS.map((s) => `${s} ${keyRows.filter((r) => r.sku === s).map((r) => `${r.status} ${r.n}`).join(' + ')} = ${imported.get(s)!.length}`).join('; ')}`,
					].join('\n'),
				);
			} finally {
				await s2.close();
			}
		} finally {
			await n8nDb.destroy();
		}
	});
});
