/**
 * The pipeline in a real n8n (`npm run bench:e2e`): the bundled order-paid workflow, imported as
 * shipped, against a bare Webhook → Respond to Webhook workflow on the same n8n 2.41.1 instance
 * (one process, SQLite store, n8n's own SQLite database), side by side in one run.
 *
 * Per level of concurrency (closed loop: N clients, each sends its next request when its answer
 * arrived), the workflows alternate A B C C B A (A B B A with BENCH_E2E_SHAPE=0), each segment with half the requests of that
 * workflow, so drift of the machine hits both alike. Every order is signed like a shop signs it,
 * with its own buyer (Risk Check's per-buyer limits never trip) and one line of quantity 1.
 * After each segment the bench waits until n8n has finished every execution of it (the answer
 * is sent before n8n saves the execution), then reads the CPU time of n8n's process group
 * (n8n + its task runner) from /proc.
 *
 * Reported per workflow and level: requests/s; p50/p90/p99 from request sent to answer received,
 * to the buyer's mail accepted by the SMTP peer and to the ship call received by the shop (both
 * peers in their own processes); the throughput ratio order-paid / bare; n8n CPU ms per request;
 * and the mean time of each node from n8n's own runData (executionTime).
 * Then (BENCH_E2E_QUEUE=0 to skip) the same order-paid in an n8n cluster in queue mode (main, webhook
 * process, 2 workers, Redis; n8n's database and the key store on PostgreSQL) at 10 and 50 in flight,
 * next to the one-process figures of the same run.
 * Then (BENCH_E2E_PROFILE=0 to skip) CPU profiles of n8n's main process through the inspector
 * during extra order-paid and bare segments, and where that time goes (cpuProfile.ts).
 *
 * Env: BENCH_E2E_LEVELS=1,10,50  BENCH_E2E_ORDERS=40,120,250 (requests per workflow per level)
 *      BENCH_E2E_WARMUP=20  BENCH_E2E_PROFILE=1  BENCH_E2E_PROFILE_ORDERS=60 (per profiled level)
 *      BENCH_E2E_PROFILE_LEVELS=1,10  BENCH_E2E_OUT=<dir> (profiles, n8n log; default a temp dir)
 *      BENCH_E2E_NODE_ARGS='…' (extra flags for n8n's Node process)
 *      BENCH_E2E_SHAPE=0 (skip the third workflow: n8n alone in order-paid's shape, see shapeWorkflow)
 *      BENCH_E2E_ENV='K=V K2=V2' (extra environment for n8n, e.g. N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true)
 *      BENCH_E2E_QUEUE=0 (skip the queue-mode rows)  BENCH_E2E_QUEUE_LEVELS=10,50  BENCH_E2E_QUEUE_ORDERS=120,250
 *      AD_N8N_CACHE (runtime cache, see test/e2e/runtime.ts)
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { createInstance, freePort, packTarball, type N8nInstance, type WorkflowInput } from '../e2e/n8nInstance';
import { REPO_ROOT } from '../e2e/pack';
import { shippedCredentials } from '../e2e/shippedCredentials';
import { shopPost } from '../e2e/workflowDriver';
import { freshDatabase, PG, QueueCluster } from '../scale/cluster';
import { formatSummary, Inspector, saveProfile, summarize } from './cpuProfile';
import { startShopPeer, startSmtpPeer } from './peers';

const env = process.env;
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const LEVELS = list(env.BENCH_E2E_LEVELS, [1, 10, 50]);
const ORDERS = list(env.BENCH_E2E_ORDERS, [40, 120, 250]);
const WARMUP = Number(env.BENCH_E2E_WARMUP ?? 20);
const PROFILE = env.BENCH_E2E_PROFILE !== '0';
const SHAPE = env.BENCH_E2E_SHAPE !== '0';
const PROFILE_ORDERS = Number(env.BENCH_E2E_PROFILE_ORDERS ?? 60);
const PROFILE_LEVELS = list(env.BENCH_E2E_PROFILE_LEVELS, [1, 10]);
const QUEUE = env.BENCH_E2E_QUEUE !== '0';
const QUEUE_LEVELS = list(env.BENCH_E2E_QUEUE_LEVELS, [10, 50]);
const QUEUE_ORDERS = list(env.BENCH_E2E_QUEUE_ORDERS, [120, 250]);
const OUT = env.BENCH_E2E_OUT ? path.resolve(env.BENCH_E2E_OUT) : fs.mkdtempSync(path.join(os.tmpdir(), 'ad-bench-e2e-'));

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = () => randomBytes(6).toString('hex').toUpperCase();

// Names fixed by the shipped workflows (README documents them).
const WF_ORDER_PAID = 'adWfOrderPaid001';
const WF_BARE = 'adBenchBareWf001';
const WF_SHAPE = 'adBenchShapeWf01';
const SHAPE_PATH = 'bench/shape';
const PAID_PATH = 'auto-delivery/order-paid';
const BARE_PATH = 'bench/bare';
const SHOP = 'bench-shop';
const SKU = 'BENCH-KEY';
const SIGNING_SECRET = `bench-signing-${rand()}`;
const STORE_SECRET = `bench-store-${rand()}${rand()}`;

const bareWorkflow: WorkflowInput = {
	id: WF_BARE,
	name: 'bench: bare webhook → respond',
	nodes: [
		{ id: 'b1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'bench-bare-webhook', parameters: { httpMethod: 'POST', path: BARE_PATH, responseMode: 'responseNode', options: {} } },
		{ id: 'b2', name: 'Respond to Webhook', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [220, 0], parameters: { respondWith: 'json', responseBody: '={{ { "ok": true, "orderId": $json.body.orderId } }}', options: {} } },
	],
	connections: { Webhook: { main: [[{ node: 'Respond to Webhook', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
};

/**
 * n8n alone in order-paid's shape: the same number of nodes of the kinds n8n runs for a paid order
 * (webhook, four steps, a Code node, Respond to Webhook with an expression), none of them ours. What
 * order-paid costs above this is the work of our four nodes; what this costs above bare is n8n's.
 */
const shapeWorkflow: WorkflowInput = {
	id: WF_SHAPE,
	name: 'bench: n8n alone, order-paid shape',
	nodes: [
		{ id: 's1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'bench-shape-webhook', parameters: { httpMethod: 'POST', path: SHAPE_PATH, responseMode: 'responseNode', options: {} } },
		...[1, 2, 3, 4].map((i) => ({ id: `s${i + 1}`, name: `Step ${i}`, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [i * 200, 0], parameters: {} })),
		{ id: 's6', name: 'Build Response', type: 'n8n-nodes-base.code', typeVersion: 2, position: [1000, 0], parameters: { jsCode: 'return [{ json: { response: { orderId: $input.first().json.body.orderId, status: "delivered" } } }];' } },
		{ id: 's7', name: 'Respond to Webhook', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [1200, 0], parameters: { respondWith: 'json', responseBody: '={{ $json.response }}', options: {} } },
	],
	connections: Object.fromEntries(
		['Webhook', 'Step 1', 'Step 2', 'Step 3', 'Step 4', 'Build Response'].map((from, i, all) => [from, { main: [[{ node: all[i + 1] ?? 'Respond to Webhook', type: 'main', index: 0 }]] }]),
	),
	settings: { executionOrder: 'v1' },
};

let seq = 0;
function order() {
	seq += 1;
	const id = `B${Date.now().toString(36).toUpperCase()}${String(seq).padStart(6, '0')}`;
	return {
		event: 'order.paid',
		orderId: id,
		shop: SHOP,
		buyer: { id: `bu${seq}`, name: `买家${seq}`, email: `buyer${seq}@bench.example.com`, ip: `198.51.${(seq >> 8) & 255}.${seq & 255}` },
		items: [{ sku: SKU, name: 'Bench key', quantity: 1, price: 9.9 }],
		amount: 9.9,
		currency: 'CNY',
		paidAt: new Date().toISOString(),
	};
}
type Order = ReturnType<typeof order>;

// ------------------------------------------------------------------------------------------------
// Measuring

/** CPU seconds (user + system, incl. reaped children) of every process in a process group, from /proc. */
function groupCpuMs(pgid: number): number {
	let ticks = 0;
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		let stat: string;
		try {
			stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
		} catch {
			continue;
		}
		const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
		if (Number(f[2]) !== pgid) continue; // field 5: pgrp
		ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // fields 14–17
	}
	return ticks * 10; // CLK_TCK = 100 on Linux
}

/** CPU ms by process and thread of a process group (thread names from /proc/<pid>/task/<tid>/comm), from /proc. */
function threadCpuMs(pgid: number): Map<string, number> {
	const out = new Map<string, number>();
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
			if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
			const proc = entry === String(pgid) ? 'n8n' : `child ${fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(1, 3).join(' ').slice(-40)}`;
			for (const tid of fs.readdirSync(`/proc/${entry}/task`)) {
				const t = fs.readFileSync(`/proc/${entry}/task/${tid}/stat`, 'utf8');
				const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
				const name = fs.readFileSync(`/proc/${entry}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, '#');
				const key = `${proc}: ${tid === entry ? 'main thread' : name}`;
				out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
			}
		} catch {
			// gone
		}
	}
	return out;
}

function cpuDiff(after: Map<string, number>, before: Map<string, number>, per: number): string[] {
	return [...after.entries()]
		.map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / per] as const)
		.filter(([, v]) => v > 0)
		.sort((a, b) => b[1] - a[1])
		.map(([k, v]) => `    ${v.toFixed(1).padStart(7)}  ${k}`);
}

/** n8n's expression-engine counters from its Prometheus endpoint (N8N_METRICS=true): name → value. */
async function expressionCounters(baseUrl: string): Promise<Map<string, number>> {
	const out = new Map<string, number>();
	const text = await (await fetch(`${baseUrl}/metrics`)).text();
	for (const line of text.split('\n')) {
		const m = /^n8n_expression_([a-z_]+?)(?:_total|_count)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
		if (m) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
	}
	return out;
}

function pct(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const s = [...values].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

type Workflow = 'order-paid' | 'bare' | 'shape';

interface Sample {
	orderId: string;
	email: string;
	sentAt: number;
	answerAt: number;
	status: number;
	orderStatus: unknown;
}

interface Segment {
	workflow: Workflow;
	level: number;
	samples: Sample[];
	wallMs: number;
	cpuMs: number;
	executionIds: number[];
	/** Expression-engine counters during the segment (isolates acquired, evaluations, …). */
	expr: Map<string, number>;
}

async function closedLoop(level: number, orders: Order[], send: (o: Order) => Promise<Sample>): Promise<Sample[]> {
	const out: Sample[] = [];
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(level, orders.length) }, async () => {
			while (next < orders.length) out.push(await send(orders[next++]));
		}),
	);
	return out;
}

// ------------------------------------------------------------------------------------------------
// Queue mode: the same order-paid in an n8n cluster (main + webhook process + 2 workers, Redis, n8n's
// database on PostgreSQL; test/scale/cluster.ts) with the key store on PostgreSQL.

async function queueRows(
	smtp: Awaited<ReturnType<typeof startSmtpPeer>>,
	shop: Awaited<ReturnType<typeof startShopPeer>>,
	single: Map<number, number>,
	extraEnv: Record<string, string>,
): Promise<string[]> {
	const storeDb = `ad_bench_store_${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
	const dropStore = await freshDatabase('postgres', storeDb);
	const keyStore = { database: 'postgres', host: PG.host, port: PG.port, databaseName: storeDb, user: PG.user, password: PG.password, ssl: false, ignoreSslIssues: false, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' };
	const cluster = await QueueCluster.create({ log, env: extraEnv });
	try {
		const store = await KeyStore.open(keyStore as Parameters<typeof KeyStore.open>[0]);
		try {
			await store.upsertProduct({ sku: SKU, name: 'Bench key', lowStockThreshold: 0 });
			const total = WARMUP + QUEUE_ORDERS.reduce((a, b) => a + b, 0) + 100;
			await store.importKeys({ sku: SKU, keys: Array.from({ length: total }, (_, i) => `BENCHQ-${String(i).padStart(6, '0')}-${rand()}`) });
		} finally {
			await store.close();
		}
		await cluster.setup({
			tarball: await packTarball({ log }),
			credentials: shippedCredentials({
				keyStore,
				shopUrl: String(shop.ready.url),
				shopToken: `bench-${rand()}`,
				signingSecret: SIGNING_SECRET,
				smtpPort: Number(smtp.ready.port),
				from: 'Bench Shop <shop@example.com>',
				formPassword: `form-${rand()}`,
			}),
			workflows: [JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', 'order-paid.json'), 'utf8')) as WorkflowInput],
			publish: [WF_ORDER_PAID],
		});
		await cluster.startAll(PAID_PATH);
		const url = cluster.webhookUrl(PAID_PATH);
		const send = async (o: Order): Promise<Sample> => {
			const sentAt = Date.now();
			const a = await shopPost(url, o, { secret: SIGNING_SECRET });
			return { orderId: o.orderId, email: o.buyer.email, sentAt, answerAt: Date.now(), status: a.status, orderStatus: a.json.status };
		};
		const pgids = () => [cluster.main, cluster.webhook, ...cluster.workers].map((p) => p.pid!).filter(Boolean);
		log(`[bench:e2e] queue mode: warm-up ${WARMUP} requests`);
		await closedLoop(1, Array.from({ length: WARMUP }, order), send);
		const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');
		const trio = (v: number[]) => `${fmt(pct(v, 50))} / ${fmt(pct(v, 90))} / ${fmt(pct(v, 99))}`;
		const rows: string[] = [];
		for (const [i, level] of QUEUE_LEVELS.entries()) {
			const count = QUEUE_ORDERS[i] ?? QUEUE_ORDERS[QUEUE_ORDERS.length - 1];
			const cpu0 = pgids().reduce((a, p) => a + groupCpuMs(p), 0);
			const t0 = Date.now();
			const samples = await closedLoop(level, Array.from({ length: count }, order), send);
			const wallMs = Date.now() - t0;
			const bad = samples.filter((x) => x.status !== 200 || x.orderStatus !== 'delivered');
			if (bad.length) throw new Error(`queue mode at ${level} in flight: ${bad.length} request(s) not delivered, e.g. ${JSON.stringify(bad[0])}`);
			for (const deadline = Date.now() + 60_000; ; ) {
				const mailed = new Set(smtp.records.flatMap((m) => m.to));
				const shippedPaths = new Set(shop.records.map((r) => r.path));
				if (samples.every((x) => mailed.has(x.email) && shippedPaths.has(`/orders/${x.orderId}/ship`))) break;
				if (Date.now() > deadline) throw new Error(`queue mode: delivered orders without a mail or a ship call after 60 s`);
				await sleep(100);
			}
			const cpuMs = pgids().reduce((a, p) => a + groupCpuMs(p), 0) - cpu0; // executions finish after the answer; CPU read once mails and ships arrived
			const mailAt = new Map<string, number>();
			for (const m of smtp.records) for (const to of m.to) if (!mailAt.has(to)) mailAt.set(to, m.at);
			const shipAt = new Map<string, number>();
			for (const r of shop.records) if (!shipAt.has(r.path)) shipAt.set(r.path, r.at);
			const rps = (samples.length / wallMs) * 1000;
			rows.push(
				`| ${level} | ${fmt(rps, 1)} | ${fmt(single.get(level) ?? NaN, 1)} | ${fmt(rps / (single.get(level) ?? NaN), 2)} | ${trio(samples.map((x) => x.answerAt - x.sentAt))} | ${trio(samples.map((x) => mailAt.get(x.email)! - x.sentAt))} | ${trio(samples.map((x) => shipAt.get(`/orders/${x.orderId}/ship`)! - x.sentAt))} | ${fmt(cpuMs / samples.length)} |`,
			);
			log(`[bench:e2e] queue mode, ${level} in flight: ${count} requests in ${(wallMs / 1000).toFixed(1)} s`);
		}
		return [
			'',
			`## bench:e2e, queue mode — n8n ${cluster.instance.runtime.n8nVersion}: main + webhook process + ${cluster.workers.length} workers (--concurrency=10), Redis, n8n's database and the key store on PostgreSQL (same run, same peers)`,
			'',
			'| in flight | queue req/s | one process, SQLite store req/s | queue / one process | answer p50/p90/p99 ms | mail p50/p90/p99 ms | ship p50/p90/p99 ms | CPU ms/req (all n8n processes) |',
			'| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
			...rows,
		];
	} finally {
		await cluster.dispose();
		await dropStore().catch(() => undefined);
	}
}

async function main(): Promise<void> {
	const started = Date.now();
	log(`[bench:e2e] levels ${LEVELS.join(',')}, requests per workflow per level ${ORDERS.join(',')}, warm-up ${WARMUP}; output in ${OUT}`);
	const totalOrders = WARMUP + ORDERS.reduce((a, b) => a + b, 0) + (PROFILE ? PROFILE_ORDERS * PROFILE_LEVELS.length : 0);

	const [smtp, shop] = await Promise.all([startSmtpPeer(), startShopPeer()]);
	const smtpPort = Number(smtp.ready.port);
	const shopUrl = String(shop.ready.url);
	// N8N_METRICS: Prometheus counters only (the bench reads n8n's expression-engine counters from /metrics).
	const extraEnv = Object.fromEntries((env.BENCH_E2E_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
	const n8n: N8nInstance = await createInstance({ log, env: { N8N_METRICS: 'true', ...extraEnv } });
	let inspector: Inspector | undefined;
	try {
		await n8n.installPackage(await packTarball({ log }));
		const storeFile = path.join(n8n.n8nFolder, 'auto-delivery-bench.sqlite');
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' });
		try {
			await store.upsertProduct({ sku: SKU, name: 'Bench key', lowStockThreshold: 0 });
			const keys = Array.from({ length: totalOrders + 100 }, (_, i) => `BENCH-${String(i).padStart(6, '0')}-${rand()}`);
			await store.importKeys({ sku: SKU, keys });
		} finally {
			await store.close();
		}
		await n8n.importCredentials(
			shippedCredentials({
				keyStore: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' },
				shopUrl,
				shopToken: `bench-${rand()}`,
				signingSecret: SIGNING_SECRET,
				smtpPort,
				from: 'Bench Shop <shop@example.com>',
				formPassword: `form-${rand()}`,
			}),
		);
		const shipped = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', 'order-paid.json'), 'utf8')) as WorkflowInput;
		await n8n.importWorkflow([shipped, bareWorkflow, ...(SHAPE ? [shapeWorkflow] : [])]);
		for (const id of [WF_ORDER_PAID, WF_BARE, ...(SHAPE ? [WF_SHAPE] : [])]) await n8n.publish(id);
		const inspectPort = PROFILE ? await freePort() : 0;
		const nodeArgs = [...(PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : []), ...(env.BENCH_E2E_NODE_ARGS ? env.BENCH_E2E_NODE_ARGS.split(' ') : [])];
		await n8n.start({ nodeArgs });
		const pgid = n8n.pid!;
		if (PROFILE) inspector = await Inspector.connect(inspectPort);

		const db = n8n.sqlite();
		const executionIds = async (workflowId: string) => new Set((await db.executions({ workflowId })).map((e) => e.id));
		const paidUrl = n8n.webhookUrl(PAID_PATH);
		const urls: Record<Workflow, string> = { 'order-paid': paidUrl, bare: n8n.webhookUrl(BARE_PATH), shape: n8n.webhookUrl(SHAPE_PATH) };
		const wfIds: Record<Workflow, string> = { 'order-paid': WF_ORDER_PAID, bare: WF_BARE, shape: WF_SHAPE };
		const send = (url: string) => async (o: Order): Promise<Sample> => {
			const sentAt = Date.now();
			const a = await shopPost(url, o, { secret: SIGNING_SECRET });
			return { orderId: o.orderId, email: o.buyer.email, sentAt, answerAt: Date.now(), status: a.status, orderStatus: a.json.status };
		};

		/** Runs one segment and waits until n8n finished its executions. */
		const segment = async (workflow: Segment['workflow'], level: number, count: number): Promise<Segment> => {
			const wf = wfIds[workflow];
			const before = await executionIds(wf);
			const orders = Array.from({ length: count }, order);
			const expr0 = await expressionCounters(n8n.baseUrl);
			const cpu0 = groupCpuMs(pgid);
			const t0 = Date.now();
			const samples = await closedLoop(level, orders, send(urls[workflow]));
			const wallMs = Date.now() - t0;
			let ids: number[] = [];
			for (const deadline = Date.now() + 60_000; ; ) {
				const rows = (await db.executions({ workflowId: wf })).filter((e) => !before.has(e.id));
				ids = rows.map((e) => e.id);
				if (rows.length >= count && rows.every((e) => e.finished || ['success', 'error', 'crashed', 'canceled'].includes(e.status))) break;
				if (Date.now() > deadline) throw new Error(`${workflow}: only ${rows.length} of ${count} executions finished after 60 s`);
				await sleep(50);
			}
			const cpuMs = groupCpuMs(pgid) - cpu0;
			const expr1 = await expressionCounters(n8n.baseUrl);
			const expr = new Map([...expr1.entries()].map(([k, v]) => [k, v - (expr0.get(k) ?? 0)]));
			const bad = samples.filter((s) => s.status !== 200 || (workflow === 'order-paid' && s.orderStatus !== 'delivered'));
			if (bad.length) throw new Error(`${workflow} at ${level} in flight: ${bad.length} request(s) not delivered, e.g. ${JSON.stringify(bad[0])}`);
			return { workflow, level, samples, wallMs, cpuMs, executionIds: ids, expr };
		};

		log(`[bench:e2e] warm-up: ${WARMUP} + ${WARMUP} requests`);
		await segment('order-paid', 1, WARMUP);
		await segment('bare', 1, WARMUP);
		if (SHAPE) await segment('shape', 1, WARMUP);

		const segments: Segment[] = [];
		for (const [i, level] of LEVELS.entries()) {
			const half = Math.max(1, Math.round((ORDERS[i] ?? ORDERS[ORDERS.length - 1]) / 2));
			const sequence: Workflow[] = SHAPE ? ['order-paid', 'bare', 'shape', 'shape', 'bare', 'order-paid'] : ['order-paid', 'bare', 'bare', 'order-paid'];
			for (const w of sequence) {
				const s = await segment(w, level, half);
				segments.push(s);
				log(`[bench:e2e] ${String(level).padStart(2)} in flight, ${w.padEnd(10)} ${half} requests in ${(s.wallMs / 1000).toFixed(2)} s, n8n CPU ${(s.cpuMs / half).toFixed(0)} ms/request`);
			}
		}

		// Mails and ship calls of the measured orders (peers report every 50 ms).
		const measured = segments.filter((s) => s.workflow === 'order-paid').flatMap((s) => s.samples);
		for (const deadline = Date.now() + 30_000; ; ) {
			const mailed = new Set(smtp.records.flatMap((m) => m.to));
			const shippedIds = new Set(shop.records.map((r) => r.path));
			const missing = measured.filter((s) => !mailed.has(s.email) || !shippedIds.has(`/orders/${s.orderId}/ship`));
			if (missing.length === 0) break;
			if (Date.now() > deadline) throw new Error(`${missing.length} delivered orders without a mail or a ship call, e.g. ${missing[0].orderId}`);
			await sleep(100);
		}
		const mailAt = new Map<string, number>();
		for (const m of smtp.records) for (const to of m.to) if (!mailAt.has(to)) mailAt.set(to, m.at);
		const shipAt = new Map<string, number>();
		for (const r of shop.records) if (!shipAt.has(r.path)) shipAt.set(r.path, r.at);
		const mailsPerBuyer = new Map<string, number>();
		for (const m of smtp.records) for (const to of m.to) mailsPerBuyer.set(to, (mailsPerBuyer.get(to) ?? 0) + 1);
		const twice = measured.filter((s) => (mailsPerBuyer.get(s.email) ?? 0) !== 1);
		if (twice.length) throw new Error(`${twice.length} buyers got other than one mail`);

		// Per-node mean time from n8n's runData.
		const nodeTimes = async (ids: number[]) => {
			const sum = new Map<string, number>();
			for (const id of ids) {
				const ex = await db.execution(id);
				for (const [node, runs] of Object.entries(ex.runData)) {
					for (const r of runs as Array<{ executionTime?: number }>) sum.set(node, (sum.get(node) ?? 0) + (r.executionTime ?? 0));
				}
			}
			return new Map([...sum.entries()].map(([k, v]) => [k, v / Math.max(1, ids.length)]));
		};

		// ---- the table
		const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');
		const trio = (v: number[]) => `${fmt(pct(v, 50))} / ${fmt(pct(v, 90))} / ${fmt(pct(v, 99))}`;
		const rows: string[] = [];
		const shapeRows: string[] = [];
		const nodeRows: string[] = [];
		const nodeNames = new Set<string>();
		const perLevelNodes: Array<[number, Map<string, number>]> = [];
		for (const level of LEVELS) {
			const of = (w: Segment['workflow']) => segments.filter((s) => s.level === level && s.workflow === w);
			const stats = (w: Segment['workflow']) => {
				const segs = of(w);
				const samples = segs.flatMap((s) => s.samples);
				const wall = segs.reduce((a, s) => a + s.wallMs, 0);
				const cpu = segs.reduce((a, s) => a + s.cpuMs, 0);
				const expr = (name: string) => segs.reduce((x, s) => x + (s.expr.get(name) ?? 0), 0) / samples.length;
				return {
					samples,
					rps: (samples.length / wall) * 1000,
					cpuPer: cpu / samples.length,
					ids: segs.flatMap((s) => s.executionIds),
					isolates: expr('pool_acquired'),
					evaluations: expr('evaluation_duration_seconds'),
				};
			};
			const a = stats('order-paid');
			const b = stats('bare');
			const answer = (ss: Sample[]) => ss.map((s) => s.answerAt - s.sentAt);
			const mail = a.samples.map((s) => mailAt.get(s.email)! - s.sentAt);
			const ship = a.samples.map((s) => shipAt.get(`/orders/${s.orderId}/ship`)! - s.sentAt);
			rows.push(
				`| ${level} | ${fmt(a.rps, 1)} | ${fmt(b.rps, 1)} | **${fmt(a.rps / b.rps, 2)}** | ${trio(answer(a.samples))} | ${trio(mail)} | ${trio(ship)} | ${trio(answer(b.samples))} | ${fmt(a.cpuPer)} | ${fmt(b.cpuPer)} | ${fmt(a.isolates, 1)} / ${fmt(a.evaluations, 1)} | ${fmt(b.isolates, 1)} / ${fmt(b.evaluations, 1)} |`,
			);
			if (SHAPE) {
				const c = stats('shape');
				shapeRows.push(`| ${level} | ${fmt(c.rps, 1)} | ${trio(answer(c.samples))} | ${fmt(c.cpuPer)} | ${fmt(c.isolates, 1)} / ${fmt(c.evaluations, 1)} | ${fmt(c.rps / b.rps, 2)} | ${fmt(a.rps / c.rps, 2)} |`);
			}
			const nt = await nodeTimes(a.ids);
			for (const k of nt.keys()) nodeNames.add(k);
			perLevelNodes.push([level, nt]);
		}
		const names = [...nodeNames];
		nodeRows.push(`| in flight | ${names.join(' | ')} | sum |`, `| ---: |${names.map(() => ' ---: |').join('')} ---: |`);
		for (const [level, nt] of perLevelNodes) {
			nodeRows.push(`| ${level} | ${names.map((n) => fmt(nt.get(n) ?? 0, 1)).join(' | ')} | ${fmt([...nt.values()].reduce((x, y) => x + y, 0), 1)} |`);
		}

		// ---- profiles
		const profileLines: string[] = [];
		if (inspector) {
			for (const level of PROFILE_LEVELS) {
				for (const w of ['order-paid', 'bare'] as const) {
					const threads0 = threadCpuMs(pgid);
					const { profile } = await inspector.profile(() => segment(w, level, PROFILE_ORDERS));
					const threads = cpuDiff(threadCpuMs(pgid), threads0, PROFILE_ORDERS);
					const file = saveProfile(path.join(OUT, 'profiles'), `${w}-${level}-in-flight`, profile);
					profileLines.push(
						[`${w}, ${level} in flight: CPU ms per request by process and thread (/proc; while profiling)`, ...threads].join('\n'),
						formatSummary(`${w}, ${level} in flight (${path.basename(file)})`, summarize(profile), PROFILE_ORDERS),
					);
				}
			}
		}

		const cpus = os.cpus();
		const out = [
			'',
			`## bench:e2e — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, n8n ${n8n.runtime.n8nVersion} on Node ${n8n.runtime.nodeVersion}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, SQLite store`,
			'',
			`Closed loop, ${SHAPE ? 'A B C C B A' : 'A B B A'} per level; ms from request sent. "mail" = the buyer\'s mail accepted by the SMTP peer, "ship" = the ship call received by the shop.`,
			'',
			'| in flight | order-paid req/s | bare req/s | ratio | order-paid answer p50/p90/p99 ms | mail p50/p90/p99 ms | ship p50/p90/p99 ms | bare answer p50/p90/p99 ms | order-paid CPU ms/req | bare CPU ms/req | order-paid isolates / expressions per req | bare isolates / expressions per req |',
			'| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
			...rows,
			'',
			...(SHAPE
				? [
						'n8n alone in order-paid\'s shape (Webhook → 4 × No Operation → Code → Respond to Webhook), same run:',
						'',
						'| in flight | shape req/s | shape answer p50/p90/p99 ms | shape CPU ms/req | shape isolates / expressions per req | shape / bare | order-paid / shape |',
						'| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
						...shapeRows,
						'',
					]
				: []),
			'Mean time per node of order-paid (n8n runData executionTime, ms):',
			'',
			...nodeRows,
			'',
			...profileLines.flatMap((p) => [p, '']),
			`(${((Date.now() - started) / 1000).toFixed(0)} s in all; requests per workflow per level: ${LEVELS.map((l, i) => `${l}: ${ORDERS[i] ?? ORDERS[ORDERS.length - 1]}`).join(', ')})`,
		];
		process.stdout.write(`${out.join('\n')}\n`);

		if (QUEUE) {
			inspector?.close();
			inspector = undefined;
			await n8n.stop();
			const single = new Map(LEVELS.map((level) => {
				const segs = segments.filter((s) => s.level === level && s.workflow === 'order-paid');
				return [level, (segs.reduce((a, s) => a + s.samples.length, 0) / segs.reduce((a, s) => a + s.wallMs, 0)) * 1000] as const;
			}));
			process.stdout.write(`${(await queueRows(smtp, shop, single, extraEnv)).join('\n')}\n`);
		}
	} finally {
		inspector?.close();
		await n8n.stop().catch(() => undefined);
		n8n.saveLogs(path.join(OUT, 'n8n-output.log'));
		await n8n.dispose().catch(() => undefined);
		await Promise.all([smtp.close(), shop.close()]);
	}
}

main().then(
	() => process.exit(0),
	(err) => {
		log(`[bench:e2e] failed: ${(err as Error).stack ?? String(err)}`);
		process.exit(1);
	},
);
