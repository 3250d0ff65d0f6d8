/**
 * HTTP helpers for driving the bundled workflows in a real n8n the way a shop and a seller do:
 * signed shop webhooks (DESIGN §7) and n8n forms behind basic auth, including the form's
 * completion page (n8n 2.x: POST /form/<path> → {formWaitingUrl}; the browser polls
 * <formWaitingUrl>/n8n-execution-status until "form-waiting", GETs the completion page, and POSTs
 * to it, which lets the waiting execution finish).
 */
import { signPayload } from '../../nodes/core/intake';
import type { ReceivedMail, SmtpPeer } from '../helpers/smtpServer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HttpAnswer {
	status: number;
	text: string;
	json: Record<string, unknown>;
	headers: Headers;
}

async function answer(res: Response): Promise<HttpAnswer> {
	const text = await res.text();
	let json: Record<string, unknown> = {};
	try {
		json = JSON.parse(text) as Record<string, unknown>;
	} catch {
		// not JSON
	}
	return { status: res.status, text, json, headers: res.headers };
}

/** POSTs a raw body as the shop would: signed with `secret` (X-Timestamp + X-Signature), or as told. */
export async function shopPost(
	url: string,
	body: unknown,
	opts: { secret?: string; signWith?: string; unsigned?: boolean; timestamp?: number } = {},
): Promise<HttpAnswer> {
	const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (!opts.unsigned) {
		const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
		headers['x-timestamp'] = String(ts);
		headers['x-signature'] = signPayload(opts.signWith ?? opts.secret ?? '', ts, raw);
	}
	return answer(await fetch(url, { method: 'POST', headers, body: raw }));
}

export function basicAuth(user: string, password: string): string {
	return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export type FormValue = string | { content: Buffer | string; fileName: string; type?: string };

export interface FormResult {
	executionId: number;
	/** Status of the execution when the completion page was served ("form-waiting"). */
	status: string;
	/** The completion page, as served. */
	html: string;
	/** <h1> of the completion page and its message, HTML entities decoded, <br> as line breaks. */
	title: string;
	message: string;
}

function decodeHtml(s: string): string {
	return s
		.replace(/<br\s*\/?>/gi, '\n')
		.replace(/<[^>]+>/g, '')
		.replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
		.replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
		.replace(/&quot;/g, '"')
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&amp;/g, '&')
		.trim();
}

/**
 * Submits an n8n form (fields in the order of the form: field-0, field-1, …) with basic auth and
 * follows it to its completion page like the browser does. Returns the page's title and message.
 */
export async function submitForm(formUrl: string, authorization: string, values: FormValue[], opts: { timeoutMs?: number } = {}): Promise<FormResult> {
	const fd = new FormData();
	values.forEach((v, i) => {
		if (typeof v === 'string') fd.append(`field-${i}`, v);
		else fd.append(`field-${i}`, new Blob([typeof v.content === 'string' ? Buffer.from(v.content) : v.content], { type: v.type ?? 'text/plain' }), v.fileName);
	});
	const posted = await answer(await fetch(formUrl, { method: 'POST', body: fd, headers: { authorization } }));
	if (posted.status !== 200 || typeof posted.json.formWaitingUrl !== 'string') {
		throw new Error(`form ${formUrl} answered ${posted.status}: ${posted.text.slice(0, 500)}`);
	}
	const waitingUrl = new URL(posted.json.formWaitingUrl);
	const executionId = Number(/\/form-waiting\/(\d+)/.exec(waitingUrl.pathname)?.[1]);
	const statusUrl = new URL(waitingUrl);
	statusUrl.pathname += '/n8n-execution-status';
	const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
	let status = '';
	for (;;) {
		status = (await (await fetch(statusUrl)).text()).trim();
		if (status === 'form-waiting') break;
		if (['canceled', 'crashed', 'error', 'success', 'null'].includes(status)) {
			throw new Error(`form execution ${executionId} ended "${status}" before its completion page`);
		}
		if (Date.now() > deadline) throw new Error(`form execution ${executionId} still "${status}" after ${opts.timeoutMs ?? 60_000} ms`);
		await sleep(150);
	}
	const page = await fetch(waitingUrl);
	const html = await page.text();
	if (page.status !== 200) throw new Error(`completion page of execution ${executionId}: ${page.status} ${html.slice(0, 300)}`);
	const title = decodeHtml(/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '');
	const message = decodeHtml(/<p style="white-space: pre-line;">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '');
	// What the page's script does next: POST back, which lets the waiting execution finish.
	const done = await fetch(waitingUrl, { method: 'POST' });
	await done.text();
	return { executionId, status, html, title, message };
}

/** Waits until `peer` holds a mail matching `match` (already received ones count); returns all matches. */
export async function waitForMail(peer: SmtpPeer, match: (m: ReceivedMail) => boolean, opts: { count?: number; timeoutMs?: number } = {}): Promise<ReceivedMail[]> {
	const count = opts.count ?? 1;
	const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
	for (;;) {
		const found = peer.messages.filter(match);
		if (found.length >= count) return found;
		if (Date.now() > deadline) {
			throw new Error(`expected ${count} matching mail(s), got ${found.length}; subjects: ${JSON.stringify(peer.messages.map((m) => `${m.to.join(',')}: ${m.subject}`))}`);
		}
		await sleep(100);
	}
}
