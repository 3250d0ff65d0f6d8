/**
 * `npm run demo`: sends signed demo orders to the n8n that `npm start` runs, and shows what happened.
 *
 *   1. tops up the demo stock if it is low (through the key store, like the import form would);
 *   2. POSTs three signed webhook calls to auto-delivery/order-paid and prints each answer:
 *      A — one line (DEMO-STEAM-50 × 1),
 *      B — two lines (DEMO-STEAM-50 × 2, DEMO-VPN-30D × 1),
 *      A again, byte for byte — a shop retrying its webhook;
 *   3. waits for the mails the demo SMTP server kept and prints them (subject, recipient, text with
 *      the keys), checks the keys against the key store and that the retry sent nothing new;
 *   4. prints the ship calls the demo shop API got, each after its mail.
 *
 * Reads .data/state.json and .data/secrets.json written by `npm start`; exits 1 with an explanation
 * when `npm start` is not running or something did not happen.
 */
import { DEMO_PRODUCTS, DemoError, c, clock, loadSecrets, paths, readJsonLines, rel, requireRunning, signedHeaders, sleep, type StoredMail, type StoredShopCall } from './common';
import { ensureDemoStock, openStore } from './keys';

interface Order {
	label: string;
	body: Record<string, unknown>;
}

interface Sent {
	label: string;
	orderId: string;
	status: number;
	ms: number;
	json: unknown;
	text: string;
}

function stamp(): string {
	const d = new Date();
	const p = (n: number) => String(n).padStart(2, '0');
	return `${String(d.getFullYear()).slice(2)}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function indent(text: string, prefix = '    │ '): string {
	return text
		.replace(/\s+$/, '')
		.split('\n')
		.map((l) => `${prefix}${l}`)
		.join('\n');
}

async function send(url: string, rawBody: string, headers: Record<string, string>, label: string, orderId: string): Promise<Sent> {
	const t0 = Date.now();
	const res = await fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(120_000) });
	const text = await res.text();
	let json: unknown = null;
	try {
		json = JSON.parse(text) as unknown;
	} catch {
		// not JSON
	}
	return { label, orderId, status: res.status, ms: Date.now() - t0, json, text };
}

async function main(): Promise<void> {
	const state = await requireRunning();
	const secrets = loadSecrets(false);
	if (!state.orderPaidUrl) {
		throw new DemoError('npm start has no published workflow on auto-delivery/order-paid (workflows/order-paid.json). Nothing to send orders to.');
	}
	const orderPaidWorkflow = state.workflows.find((w) => w.webhooks.some((h) => h.url === state.orderPaidUrl));
	const out = (s = '') => process.stdout.write(`${s}\n`);
	out(c.bold(`Demo orders → ${state.orderPaidUrl}`));

	// 1. Stock
	const stock = await ensureDemoStock(secrets.keyStoreSecret);
	out(c.dim(`stock: ${stock.map((s) => `${s.sku} ${s.available} available${s.toppedUp ? ` (topped up +${s.toppedUp})` : ''}`).join(', ')}`));

	const mailMark = Math.max(0, ...readJsonLines<StoredMail>(paths.mails).map((m) => m.seq));
	const shopMark = Math.max(0, ...readJsonLines<StoredShopCall>(paths.shopCalls).map((s) => s.seq));

	// 2. Orders
	const run = stamp();
	const [steam, vpn] = DEMO_PRODUCTS;
	const buyerA = { id: `demo-u-${run}-a`, name: '小明', email: `xiaoming+${run}@example.com`, ip: '203.0.113.7' };
	const buyerB = { id: `demo-u-${run}-b`, name: 'Alice', email: `alice+${run}@example.com`, ip: '198.51.100.23' };
	const paidAt = new Date().toISOString();
	const orders: Order[] = [
		{
			label: 'A: one line',
			body: {
				event: 'order.paid', orderId: `DEMO-${run}-A`, shop: 'demo-shop', buyer: buyerA,
				items: [{ sku: steam.sku, name: steam.name, quantity: 1, price: steam.price }],
				amount: steam.price, currency: 'CNY', paidAt,
			},
		},
		{
			label: 'B: two lines, quantity 2',
			body: {
				event: 'order.paid', orderId: `DEMO-${run}-B`, shop: 'demo-shop', buyer: buyerB,
				items: [
					{ sku: steam.sku, name: steam.name, quantity: 2, price: steam.price },
					{ sku: vpn.sku, name: vpn.name, quantity: 1, price: vpn.price },
				],
				amount: 2 * steam.price + vpn.price, currency: 'CNY', paidAt,
			},
		},
	];
	const sent: Sent[] = [];
	const requests = orders.map((o) => {
		const raw = JSON.stringify(o.body);
		return { order: o, raw, headers: signedHeaders(secrets.shopSigningSecret, raw) };
	});
	const plan = [...requests, { ...requests[0], order: { ...requests[0].order, label: 'A again: the shop retries the same webhook (same body, same signature)' } }];
	for (const r of plan) {
		const orderId = String(r.order.body.orderId);
		out('');
		out(`${c.cyan('→')} ${c.bold(`Order ${r.order.label}`)}  ${orderId}`);
		out(c.dim(`  POST ${state.orderPaidUrl}  X-Timestamp: ${r.headers['X-Timestamp']}  X-Signature: ${r.headers['X-Signature'].slice(0, 19)}…`));
		out(c.dim(`  ${r.raw}`));
		const s = await send(state.orderPaidUrl, r.raw, r.headers, r.order.label, orderId);
		sent.push(s);
		const colour = s.status >= 200 && s.status < 300 ? c.green : c.red;
		out(`${c.cyan('←')} ${colour(`HTTP ${s.status}`)} in ${s.ms} ms  ${s.json ? JSON.stringify(s.json) : s.text.slice(0, 500)}`);
	}

	// 3. Mails
	const buyerEmails = [buyerA.email, buyerB.email];
	const expectedBuyerMails = orders.reduce((n, o) => n + (o.body.items as unknown[]).length, 0);
	const newMails = () => readJsonLines<StoredMail>(paths.mails).filter((m) => m.seq > mailMark);
	const buyerMails = () => newMails().filter((m) => m.to.some((t) => buyerEmails.includes(t)));
	out('');
	out(c.bold(`Mails (the demo SMTP server keeps them in ${rel(paths.mailDir)}/)`));
	const deadline = Date.now() + 60_000;
	while (buyerMails().length < expectedBuyerMails && Date.now() < deadline) await sleep(250);
	await sleep(2000); // anything the retry might (wrongly) have sent
	const mails = newMails();
	for (const m of mails) {
		out('');
		out(`  ${c.green('✉')} ${c.dim(`${clock(m.at)}  ${m.eml}`)}  to ${c.bold(m.to.join(', '))}  from ${m.from}`);
		out(`    Subject: ${m.subject}`);
		out(indent(m.text));
	}
	if (!mails.length) out(c.red('  (no mail arrived)'));

	// Keys in the mails = keys in the store; the retry sent nothing new.
	const problems: string[] = [];
	const store = await openStore(secrets.keyStoreSecret);
	const deliveries = [];
	try {
		// an order is (shop, order ID): look each one up in its own shop
		for (const o of orders) deliveries.push(...(await store.getDeliveries({ orderId: String(o.body.orderId), shop: String(o.body.shop ?? ''), reveal: true })));
	} finally {
		await store.close();
	}
	const expectedLines = orders.flatMap((o) => (o.body.items as Array<{ sku: string; quantity: number }>).map((i) => ({ orderId: String(o.body.orderId), ...i })));
	let keyCount = 0;
	const mailOf = new Map<string, StoredMail>();
	for (const line of expectedLines) {
		const d = deliveries.find((x) => x.orderId === line.orderId && x.sku === line.sku);
		if (!d) {
			problems.push(`no delivery in the key store for ${line.orderId} ${line.sku}`);
			continue;
		}
		const keys = d.keys.map((k) => k.key ?? '');
		keyCount += keys.length;
		if (keys.length !== line.quantity) problems.push(`${line.orderId} ${line.sku}: ${keys.length} key(s) instead of ${line.quantity}`);
		const withKeys = mails.filter((m) => keys.every((k) => k && m.text.includes(k)));
		if (withKeys.length === 0) problems.push(`${line.orderId} ${line.sku}: no mail contains its key(s)`);
		else if (withKeys.length > 1) problems.push(`${line.orderId} ${line.sku}: its key(s) were mailed ${withKeys.length} times`);
		else mailOf.set(`${line.orderId}|${line.sku}`, withKeys[0]);
		if (d.status !== 'shipped') problems.push(`${line.orderId} ${line.sku}: delivery status is ${d.status}, not shipped`);
	}
	const retryAnswer = sent[2];
	if (JSON.stringify(retryAnswer?.json) !== JSON.stringify(sent[0]?.json)) problems.push('the retry of order A was answered differently from the first call');
	out('');
	if (mailOf.size === expectedLines.length) {
		out(c.green(`  ✓ ${mailOf.size} buyer mails for ${expectedLines.length} order lines; the ${keyCount} keys in them are exactly the keys the key store assigned; the retry sent no mail.`));
	}

	// 4. Ship calls
	out('');
	out(c.bold(`Ship calls (the demo shop API records them in ${rel(paths.shopCalls)})`));
	const shipDeadline = Date.now() + 20_000;
	const newCalls = () => readJsonLines<StoredShopCall>(paths.shopCalls).filter((s) => s.seq > shopMark);
	while (newCalls().length < expectedLines.length && Date.now() < shipDeadline) await sleep(250);
	const calls = newCalls();
	for (const s of calls) {
		const body = s.body as { orderId?: string; sku?: string } | null;
		const mail = body?.orderId && body.sku ? mailOf.get(`${body.orderId}|${body.sku}`) : undefined;
		const after = mail ? s.at - mail.at : null;
		const when = after === null ? '' : after >= 0 ? c.green(`${(after / 1000).toFixed(2)} s after the buyer's mail`) : c.red(`${(-after / 1000).toFixed(2)} s BEFORE the buyer's mail`);
		out(`  ${c.dim(clock(s.at))} ${s.method} ${s.path} ${JSON.stringify(s.body)} → ${s.status}${s.reference ? ` ${s.reference}` : ''}  ${when}`);
		if (after !== null && after < 0) problems.push(`${body?.orderId} ${body?.sku} was marked shipped before the mail went out`);
		if (!s.authorized) problems.push(`${s.path}: the call did not carry the shop API token`);
	}
	const shippedLines = new Set(calls.map((s) => JSON.stringify([(s.body as { orderId?: string })?.orderId, (s.body as { sku?: string })?.sku])));
	if (shippedLines.size < expectedLines.length) problems.push(`${expectedLines.length} ship calls expected, ${calls.length} received`);
	if (calls.length > expectedLines.length) problems.push(`${calls.length} ship calls for ${expectedLines.length} order lines (the retry shipped again?)`);

	out('');
	if (orderPaidWorkflow) out(c.dim(`Executions in n8n: ${state.baseUrl}/workflow/${orderPaidWorkflow.id}/executions`));
	if (problems.length) {
		out(c.red(`Something did not go as expected:\n${problems.map((p) => `  - ${p}`).join('\n')}`));
		out(c.dim(`n8n's log: ${rel(paths.n8nLog)}`));
		process.exitCode = 1;
	} else {
		out(c.green(c.bold('Demo complete: every line delivered once, by mail first, then marked shipped; the retry changed nothing.')));
	}
}

main().catch((err) => {
	const msg = err instanceof DemoError ? err.message : (err as Error).stack ?? String(err);
	process.stderr.write(`${c.red('npm run demo:')} ${msg}\n`);
	process.exit(1);
});
