/**
 * Shared by `npm start` (start.ts), `npm run demo` (demo.ts) and `npm run screenshots`
 * (screenshots.ts): where the demo keeps its data, the generated secrets, the state file a running
 * `npm start` publishes for the other scripts, the demo catalogue, and small helpers.
 *
 * Everything lives in `<repo>/.data/` (git-ignored; AD_DATA_DIR overrides it):
 *
 *   secrets.json            generated once: n8n's encryption key, the key store's Encryption Secret,
 *                           the shop's webhook signing secret and API token, the n8n owner login and
 *                           the forms' login (mode 0600)
 *   shop-signing-secret     the signing secret alone, for the curl one-liner (mode 0600)
 *   state.json              written by a running `npm start` when it is ready (pid, ports, URLs);
 *                           removed when it stops
 *   install.json            fingerprints for the fast path (sources, tarball, credentials, workflows)
 *   package/                the packed tarball that is installed into n8n
 *   n8n/                    N8N_USER_FOLDER: n8n's own data is in n8n/.n8n (database.sqlite, nodes/)
 *   auto-delivery.sqlite    the key store (SQLite) the credential "Auto Delivery Key Store" points at
 *   mail/                   every mail the demo SMTP server received: mails.jsonl + one .eml each
 *   shop/requests.jsonl     every call the demo shop API received (ship calls)
 *   logs/                   n8n.log (everything n8n printed), start.log (what npm start printed)
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const DATA_DIR = path.resolve(process.env.AD_DATA_DIR || path.join(REPO_ROOT, '.data'));

export const paths = {
	data: DATA_DIR,
	secrets: path.join(DATA_DIR, 'secrets.json'),
	signingSecret: path.join(DATA_DIR, 'shop-signing-secret'),
	state: path.join(DATA_DIR, 'state.json'),
	install: path.join(DATA_DIR, 'install.json'),
	packageDir: path.join(DATA_DIR, 'package'),
	userFolder: path.join(DATA_DIR, 'n8n'),
	keyStore: path.join(DATA_DIR, 'auto-delivery.sqlite'),
	mailDir: path.join(DATA_DIR, 'mail'),
	mails: path.join(DATA_DIR, 'mail', 'mails.jsonl'),
	shopDir: path.join(DATA_DIR, 'shop'),
	shopCalls: path.join(DATA_DIR, 'shop', 'requests.jsonl'),
	logsDir: path.join(DATA_DIR, 'logs'),
	n8nLog: path.join(DATA_DIR, 'logs', 'n8n.log'),
	startLog: path.join(DATA_DIR, 'logs', 'start.log'),
	workflowsDir: path.resolve(process.env.AD_WORKFLOWS_DIR || path.join(REPO_ROOT, 'workflows')),
	screenshotsDir: path.join(REPO_ROOT, 'workflows', 'screenshots'),
};

/** A path for display: relative to the repository when inside it. */
export function rel(p: string): string {
	const r = path.relative(process.cwd(), p);
	return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

// ---------------------------------------------------------------------------------------------
// The demo catalogue, credentials and logins
// ---------------------------------------------------------------------------------------------

export const DEMO_PRODUCTS = [
	{ sku: 'DEMO-STEAM-50', name: 'Steam 50 元充值卡 (demo)', prefix: 'STEAM', price: 50, threshold: 5 },
	{ sku: 'DEMO-VPN-30D', name: 'VPN 30 天会员 (demo)', prefix: 'VPN30', price: 30, threshold: 5 },
] as const;

/** Top up a demo SKU when fewer keys than this are available… */
export const TOP_UP_BELOW = 10;
/** …with this many new keys. */
export const TOP_UP_COUNT = 25;

/** Credential ids and names the bundled workflows reference (README documents them). */
export const CREDENTIALS = {
	keyStore: { id: 'adKeyStore0001', name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore' },
	shopApi: { id: 'adShopApi00001', name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi' },
	smtp: { id: 'adSmtp00000001', name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp' },
	sellerSmtp: { id: 'adSellerSmtp01', name: 'Seller SMTP', type: 'smtp' },
	formLogin: { id: 'adFormLogin001', name: 'Auto Delivery Forms Login', type: 'httpBasicAuth' },
} as const;

export const SHOP_FROM = 'Demo Shop <shop@example.com>';
export const OWNER_EMAIL = 'seller@example.com';
export const FORM_USER = 'seller';

export interface Secrets {
	/** N8N_ENCRYPTION_KEY of the demo n8n (encrypts n8n's credentials). */
	n8nEncryptionKey: string;
	/** The key store's Encryption Secret (AES-256-GCM of every key). */
	keyStoreSecret: string;
	/** The shop's webhook signing secret (X-Signature). */
	shopSigningSecret: string;
	/** Bearer token n8n sends to the demo shop API. */
	shopApiToken: string;
	owner: { email: string; password: string; firstName: string; lastName: string };
	form: { user: string; password: string };
	createdAt: string;
}

/** n8n wants ≥ 8 characters, a digit and an upper-case letter. */
function password(prefix: string): string {
	return `${prefix}-${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}7`;
}

export function loadSecrets(create: boolean): Secrets {
	if (fs.existsSync(paths.secrets)) return JSON.parse(fs.readFileSync(paths.secrets, 'utf8')) as Secrets;
	if (!create) throw new DemoError(`No ${rel(paths.secrets)}: run \`npm start\` first.`);
	const secrets: Secrets = {
		n8nEncryptionKey: randomBytes(24).toString('base64url'),
		keyStoreSecret: randomBytes(24).toString('base64url'),
		shopSigningSecret: randomBytes(24).toString('hex'),
		shopApiToken: randomBytes(18).toString('base64url'),
		owner: { email: OWNER_EMAIL, password: password('Demo'), firstName: 'Demo', lastName: 'Seller' },
		form: { user: FORM_USER, password: password('Forms') },
		createdAt: new Date().toISOString(),
	};
	fs.mkdirSync(paths.data, { recursive: true });
	writeJson(paths.secrets, secrets, 0o600);
	return secrets;
}

/** The signing secret alone in a file (the curl one-liner reads it). */
export function writeSigningSecretFile(secrets: Secrets): void {
	const current = fs.existsSync(paths.signingSecret) ? fs.readFileSync(paths.signingSecret, 'utf8') : '';
	if (current !== secrets.shopSigningSecret) fs.writeFileSync(paths.signingSecret, secrets.shopSigningSecret, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------
// State of a running `npm start`
// ---------------------------------------------------------------------------------------------

export interface BundledWorkflow {
	file: string;
	id: string;
	name: string;
	published: boolean;
	webhooks: Array<{ node: string; method: string; path: string; url: string }>;
	forms: Array<{ node: string; path: string; url: string; title: string | null }>;
	schedules: string[];
}

export interface DemoState {
	/** pid of the `npm start` node process. */
	pid: number;
	status: 'starting' | 'ready';
	startedAt: string;
	readyAt?: string;
	baseUrl: string;
	port: number;
	smtp: { host: string; port: number };
	shop: { url: string; port: number };
	workflows: BundledWorkflow[];
	owner: { email: string; passwordWorks: boolean };
	orderPaidUrl: string | null;
}

export function readState(): DemoState | null {
	try {
		return JSON.parse(fs.readFileSync(paths.state, 'utf8')) as DemoState;
	} catch {
		return null;
	}
}

export function writeJson(file: string, value: unknown, mode?: number): void {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const tmp = `${file}.${process.pid}.tmp`;
	fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, mode === undefined ? undefined : { mode });
	fs.renameSync(tmp, file);
}

export function readJson<T>(file: string, fallback: T): T {
	try {
		return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
	} catch {
		return fallback;
	}
}

export function pidAlive(pid: number | undefined): boolean {
	if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/** The state of a running, ready `npm start`, or a DemoError that says what to do. */
export async function requireRunning(): Promise<DemoState> {
	const state = readState();
	if (!state) {
		throw new DemoError(
			`npm start is not running (there is no ${rel(paths.state)}).\n` + 'Start it in another terminal with `npm start`, wait for "Ready", then run this again.',
		);
	}
	if (!pidAlive(state.pid)) {
		throw new DemoError(`npm start (pid ${state.pid}) is not running any more (it did not stop cleanly).\nStart it again with \`npm start\`.`);
	}
	if (state.status !== 'ready') {
		throw new DemoError('npm start is still starting: wait until it prints "Ready", then run this again.');
	}
	const status = await httpStatus(`${state.baseUrl}/healthz/readiness`);
	if (status !== 200) {
		throw new DemoError(`n8n at ${state.baseUrl} does not answer (${status || 'no connection'}). Look at the npm start terminal or ${rel(paths.n8nLog)}.`);
	}
	return state;
}

export class DemoError extends Error {}

// ---------------------------------------------------------------------------------------------
// Shop webhook signatures (DESIGN §7)
// ---------------------------------------------------------------------------------------------

/** Headers of a signed shop webhook call: HMAC-SHA256(secret, `<timestamp>.<raw body>`). */
export function signedHeaders(secret: string, rawBody: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
	const hex = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');
	return { 'Content-Type': 'application/json', 'X-Timestamp': String(timestamp), 'X-Signature': `sha256=${hex}` };
}

/** A curl command (bash) that sends a signed demo order; the secret is read from .data/. */
export function curlOneLiner(url: string, sku: string): string {
	const secretFile = rel(paths.signingSecret);
	return [
		`ts=$(date +%s); body='{"event":"order.paid","orderId":"CURL-'$ts'","buyer":{"name":"小红","email":"xiaohong@example.com"},"items":[{"sku":"${sku}","quantity":1}],"amount":50,"currency":"CNY"}';`,
		`sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$(cat ${secretFile})" | sed 's/^.* //');`,
		`curl -sS -X POST '${url}' -H 'Content-Type: application/json' -H "X-Timestamp: $ts" -H "X-Signature: sha256=$sig" -d "$body"; echo`,
	].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Mailbox and shop log written by the demo peers (peers.ts)
// ---------------------------------------------------------------------------------------------

export interface StoredMail {
	seq: number;
	at: number;
	from: string;
	to: string[];
	subject: string;
	text: string;
	html: string | null;
	messageId: string | null;
	eml: string;
}

export interface StoredShopCall {
	seq: number;
	at: number;
	method: string;
	path: string;
	query: Record<string, string>;
	authorized: boolean;
	contentType: string | null;
	body: unknown;
	status: number;
	reference: string | null;
}

export function readJsonLines<T>(file: string): T[] {
	let text: string;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch {
		return [];
	}
	const out: T[] = [];
	for (const line of text.split('\n')) {
		if (!line.trim()) continue;
		try {
			out.push(JSON.parse(line) as T);
		} catch {
			// a line being written right now
		}
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// Fingerprints, ports, HTTP, output
// ---------------------------------------------------------------------------------------------

export function sha256(data: string | Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/** sha256 over the relative paths and contents of files (directories walked, sorted; node_modules skipped). */
export function fingerprint(root: string, entries: string[]): string {
	const h = createHash('sha256');
	const walk = (p: string) => {
		const full = path.join(root, p);
		if (!fs.existsSync(full)) return;
		const st = fs.statSync(full);
		if (st.isDirectory()) {
			for (const e of fs.readdirSync(full).sort()) if (e !== 'node_modules' && !e.startsWith('.')) walk(path.join(p, e));
		} else {
			h.update(`${p}\0${st.size}\0`);
			h.update(fs.readFileSync(full));
		}
	};
	for (const e of entries) walk(e);
	return h.digest('hex');
}

/** Whether 127.0.0.1:<port> can be bound right now. */
export function portFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.unref();
		srv.once('error', () => resolve(false));
		srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
	});
}

export async function firstFreePort(from: number, tries = 50): Promise<number> {
	for (let p = from; p < from + tries && p < 65536; p++) if (await portFree(p)) return p;
	throw new DemoError(`No free port in ${from}–${from + tries - 1} on 127.0.0.1.`);
}

export async function httpStatus(url: string, timeoutMs = 3000): Promise<number> {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
		await res.arrayBuffer();
		return res.status;
	} catch {
		return 0;
	}
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = { bold: paint('1'), dim: paint('2'), green: paint('32'), yellow: paint('33'), red: paint('31'), cyan: paint('36') };

export function seconds(ms: number): string {
	return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function clock(at: number = Date.now()): string {
	return new Date(at).toTimeString().slice(0, 8);
}
