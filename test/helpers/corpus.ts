/**
 * The bad-input corpus (test/corpus/, format in test/corpus/README.md): loading, checking and
 * expanding its cases into HTTP requests. The cases are data; this file only turns a case into
 * bytes and headers (placeholders, the base order, the `generate` specs for bodies too large to
 * commit, the signature modes). Used by test/e2e/corpus.e2e.test.ts (through a real n8n) and by
 * test/unit/corpus.test.ts (the same requests through decideWebhook, in process).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { signPayload } from '../../nodes/core/intake';

export const CORPUS_DIR = path.resolve(__dirname, '..', 'corpus');
export const TARGETS = ['order-paid', 'refund', 'import-form'] as const;
export type Target = (typeof TARGETS)[number];
export const SIGNATURE_MODES = ['valid', 'forged', 'tampered', 'replayed', 'expired', 'future', 'missing', 'no-timestamp', 'milliseconds', 'bad-format'] as const;
export type SignatureMode = (typeof SIGNATURE_MODES)[number];
/** Who answers: Shop Webhook without starting the workflow, n8n before the node runs, or the workflow. */
export const ANSWERED_BY = ['shop-webhook', 'n8n', 'workflow'] as const;

export type Generate =
	| { kind: 'nested'; depth: number; in: 'root' | 'order' }
	| { kind: 'lines'; count: number }
	| { kind: 'padded'; bytes: number }
	| { kind: 'repeat'; field: string; char: string; length: number }
	| { kind: 'truncated'; keep: number }
	| { kind: 'bytes-in-order'; field: string; hex: string };

export interface BodySpec {
	/** Overrides merged (shallowly) into the target's base order; `omit` removes fields. */
	order?: Record<string, unknown>;
	omit?: string[];
	json?: unknown;
	text?: string;
	base64?: string;
	generate?: Generate;
	none?: true;
}

export interface FileSpec {
	text?: string;
	base64?: string;
	name: string;
	type?: string;
}

export interface FormSpec {
	auth: 'valid' | 'wrong' | 'none';
	/** Multipart fields in the form's order; keysFile is the upload. */
	fields?: { sku: string; productName: string; keysFile: FileSpec; format: string; column: string };
	/** A non-multipart body instead of the fields. */
	raw?: { contentType: string; text: string };
}

export interface Expectation {
	status: number;
	by: (typeof ANSWERED_BY)[number];
	/** Subset of the JSON answer (objects match by their keys, arrays element by element). */
	json?: Record<string, unknown>;
	/** Workflow cases: mails to the buyer (Notify Buyer) and to the seller (n8n's Send Email). */
	buyerMails?: number;
	sellerMails?: number;
	/** Workflow cases: keys in the buyer's mail. */
	keys?: number;
	/** Texts the buyer's HTML mail must not contain (raw, unescaped markup). */
	mailHtmlLacks?: string[];
	/** Import form: the completion page's title and a text of its message. */
	formTitle?: string;
	formMessage?: string;
	/** Import form: texts the completion page must not contain. */
	pageLacks?: string[];
}

export interface CorpusCase {
	name: string;
	target: Target;
	why: string;
	method?: string;
	/** Request headers; a null value removes a default header (content-type). */
	headers?: Record<string, string | null>;
	signature?: SignatureMode;
	body?: BodySpec;
	form?: FormSpec;
	expect: Expectation;
	/** The file it was read from (relative to test/corpus). */
	file: string;
}

/** Every case of test/corpus/<target>/*.json, checked for the format (throws naming the file). */
export function loadCorpus(dir = CORPUS_DIR): CorpusCase[] {
	const cases: CorpusCase[] = [];
	for (const target of TARGETS) {
		const folder = path.join(dir, target);
		for (const f of fs.readdirSync(folder).filter((n) => n.endsWith('.json')).sort()) {
			const file = `${target}/${f}`;
			const c = { ...(JSON.parse(fs.readFileSync(path.join(folder, f), 'utf8')) as CorpusCase), file };
			const problem = checkCase(c, target, f);
			if (problem) throw new Error(`test/corpus/${file}: ${problem}`);
			cases.push(c);
		}
	}
	return cases;
}

function checkCase(c: CorpusCase, target: Target, fileName: string): string | null {
	if (`${c.name}.json` !== fileName) return `"name" must be the file name without .json`;
	if (c.target !== target) return `"target" must be "${target}" (its folder)`;
	if (typeof c.why !== 'string' || c.why.length < 5) return '"why" is required';
	if (!c.expect || !Number.isInteger(c.expect.status)) return '"expect.status" is required';
	if (!(ANSWERED_BY as readonly string[]).includes(c.expect.by)) return `"expect.by" must be one of ${ANSWERED_BY.join(', ')}`;
	if (target === 'import-form') return c.form ? null : '"form" is required for the import form';
	if (c.signature !== undefined && !(SIGNATURE_MODES as readonly string[]).includes(c.signature)) return `unknown signature mode "${c.signature}"`;
	const kinds = ['order', 'json', 'text', 'base64', 'generate', 'none'].filter((k) => c.body && k in c.body);
	return kinds.length === 1 ? null : '"body" needs exactly one of order, json, text, base64, generate, none';
}

// ------------------------------------------------------------------------------------------------
// Expanding a case

/** Values for the placeholders `{{orderId}}`, `{{sku}}`, `{{shop}}`, `{{email}}`, `{{buyerId}}`, `{{importSku}}`, `{{rand}}`. */
export type Placeholders = Record<string, string>;

export function fill(text: string, p: Placeholders): string {
	return text.replace(/\{\{(\w+)\}\}/g, (all, name: string) => p[name] ?? all);
}

function fillDeep(v: unknown, p: Placeholders): unknown {
	if (typeof v === 'string') return fill(v, p);
	if (Array.isArray(v)) return v.map((x) => fillDeep(x, p));
	if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillDeep(x, p)]));
	return v;
}

/** The valid order of a target that `body.order` overrides. */
export function baseOrder(target: Target, p: Placeholders): Record<string, unknown> {
	if (target === 'refund') return { event: 'order.refunded', orderId: p.orderId, shop: p.shop, items: [{ sku: p.sku }] };
	return {
		event: 'order.paid',
		orderId: p.orderId,
		shop: p.shop,
		buyer: { id: p.buyerId, name: 'Corpus Buyer', email: p.email, ip: '203.0.113.9' },
		items: [{ sku: p.sku, name: 'Corpus product', quantity: 1, price: 5 }],
		amount: 5,
		currency: 'CNY',
		paidAt: new Date().toISOString(),
	};
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
	const parts = dotted.split('.');
	let cur: Record<string, unknown> = obj;
	for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
	cur[parts[parts.length - 1]] = value;
}

const MARK = '__corpus_mark__';

function generate(g: Generate, target: Target, p: Placeholders): Buffer {
	const base = baseOrder(target, p);
	switch (g.kind) {
		case 'nested': {
			const deep = '{"a":'.repeat(g.depth) + '1' + '}'.repeat(g.depth);
			if (g.in === 'root') return Buffer.from('['.repeat(g.depth) + ']'.repeat(g.depth));
			return Buffer.from(JSON.stringify({ ...base, extra: MARK }).replace(`"${MARK}"`, deep));
		}
		case 'lines': {
			const items = Array.from({ length: g.count }, (_, i) => ({ sku: `${p.sku}-${i}`, quantity: 1 }));
			return Buffer.from(JSON.stringify({ ...base, items }));
		}
		case 'padded': {
			const without = Buffer.byteLength(JSON.stringify({ ...base, note: '' }));
			return Buffer.from(JSON.stringify({ ...base, note: 'x'.repeat(g.bytes - without) }));
		}
		case 'repeat': {
			setPath(base, g.field, g.char.repeat(g.length));
			return Buffer.from(JSON.stringify(base));
		}
		case 'truncated':
			return Buffer.from(JSON.stringify(base).slice(0, g.keep));
		case 'bytes-in-order': {
			setPath(base, g.field, MARK);
			const [head, tail] = JSON.stringify(base).split(MARK);
			return Buffer.concat([Buffer.from(head), Buffer.from(g.hex, 'hex'), Buffer.from(tail)]);
		}
	}
}

/** The body bytes of a webhook case (null: no body). */
export function bodyBytes(c: CorpusCase, p: Placeholders): Buffer | null {
	const b = c.body ?? { none: true };
	if (b.none) return null;
	if (b.generate) return generate(b.generate, c.target, p);
	if (b.base64 !== undefined) return Buffer.from(b.base64, 'base64');
	if (b.text !== undefined) return Buffer.from(fill(b.text, p));
	if (b.json !== undefined) return Buffer.from(JSON.stringify(fillDeep(b.json, p)));
	const order: Record<string, unknown> = { ...baseOrder(c.target, p), ...(fillDeep(b.order, p) as Record<string, unknown>) };
	for (const k of b.omit ?? []) delete order[k];
	return Buffer.from(JSON.stringify(order));
}

export interface CorpusRequest {
	method: string;
	headers: Record<string, string>;
	body: Buffer | null;
}

/** The HTTP request of a webhook case, signed as its `signature` mode says (now in ms). */
export function webhookRequest(c: CorpusCase, p: Placeholders, secret: string, now = Date.now()): CorpusRequest {
	const body = bodyBytes(c, p);
	const raw = body ?? Buffer.alloc(0);
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	for (const [k, v] of Object.entries(c.headers ?? {})) {
		if (v === null) delete headers[k.toLowerCase()];
		else headers[k.toLowerCase()] = v;
	}
	const mode = c.signature ?? 'valid';
	const s = Math.floor(now / 1000);
	const ts = { replayed: s - 600, expired: s - 86_400, future: s + 3600, milliseconds: now }[mode as string] ?? s;
	if (mode !== 'missing') {
		if (mode !== 'no-timestamp') headers['x-timestamp'] = String(ts);
		const over = mode === 'tampered' ? Buffer.concat([raw, Buffer.from(' ')]) : raw;
		const sig = signPayload(mode === 'forged' ? `forged-${secret.length}-not-the-secret` : secret, ts, over);
		headers['x-signature'] = mode === 'bad-format' ? sig.replace('sha256=', 'md5=') : sig;
	}
	return { method: c.method ?? 'POST', headers, body };
}

/** `actual` holds `expected`: objects by their keys, arrays element by element (same length). */
export function matchesSubset(actual: unknown, expected: unknown): boolean {
	if (Array.isArray(expected)) {
		return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matchesSubset(actual[i], e));
	}
	if (expected && typeof expected === 'object') {
		if (!actual || typeof actual !== 'object') return false;
		return Object.entries(expected).every(([k, v]) => matchesSubset((actual as Record<string, unknown>)[k], v));
	}
	return actual === expected;
}
