/**
 * `npm start`: the whole thing on one machine, the way a seller tries it.
 *
 *   1. the runtime: Node 24 + n8n 2.41.1 from the cache (~/.cache/n8n-auto-delivery), installed on
 *      first use (6–10 min, once; progress is printed);
 *   2. this package: `npm run build` + `npm pack` into .data/package, installed into n8n's
 *      community-node folder — skipped when the sources / the tarball did not change;
 *   3. a demo SMTP server (keeps every mail in .data/mail) and a demo shop API (records ship calls
 *      in .data/shop), on 127.0.0.1;
 *   4. the demo credentials (ids and names the bundled workflows reference), every workflows/*.json
 *      imported, and those with a trigger published — skipped when nothing changed;
 *   5. the demo SKUs with demo keys in the SQLite key store (topped up only when low);
 *   6. n8n itself (port 5678, or the next free one), with an owner account created on first start;
 *   7. prints the editor URL and login, webhook and form URLs, and how to send a demo order; then
 *      shows mails and ship calls as they happen until Ctrl-C, which stops everything and exits 0.
 *
 * Options: `npm start -- --port 5800` (or AD_PORT=5800): that port or fail; `--verbose`: also echo
 * n8n's own log. Data: .data/ (see common.ts). The runtime cache: AD_N8N_CACHE.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createInstance, type CredentialInput, type N8nInstance, type WorkflowInput } from '../test/e2e/n8nInstance';
import { packTarball } from '../test/e2e/pack';
import { defaultCacheDir, ensureRuntime, N8N_VERSION, NODE_VERSION } from '../test/e2e/runtime';
import {
	c,
	clock,
	CREDENTIALS,
	curlOneLiner,
	DEMO_PRODUCTS,
	DemoError,
	fingerprint,
	firstFreePort,
	loadSecrets,
	paths,
	pidAlive,
	portFree,
	readJson,
	readState,
	rel,
	REPO_ROOT,
	seconds,
	sha256,
	SHOP_FROM,
	sleep,
	writeJson,
	writeSigningSecretFile,
	type BundledWorkflow,
	type DemoState,
	type Secrets,
	type StoredMail,
	type StoredShopCall,
} from './common';
import { ensureDemoStock, type StockLine } from './keys';
import { startDemoShop, startDemoSmtp, type DemoShop, type DemoSmtp } from './peers';

/** What install.json remembers between runs (the fast path). */
interface InstallInfo {
	sourceFingerprint?: string;
	tarball?: string;
	installedTarballSha?: string;
	credentialsFingerprint?: string;
	/** sha256 of the tarball the workflows were last imported with. */
	workflowsTarballSha?: string;
	workflows?: Record<string, { sha: string; ids: string[] }>;
	ports?: { smtp?: number; shop?: number };
}

export interface LaunchOptions {
	/** Progress and summary lines. */
	out: (line: string) => void;
	port?: number;
	/** Echo n8n's log lines (default: only its errors). */
	verbose?: boolean;
	/** Print mails and ship calls as they arrive. */
	live?: boolean;
}

export interface Launched {
	state: DemoState;
	secrets: Secrets;
	n8n: N8nInstance;
	stock: StockLine[];
	timings: Record<string, number>;
	/** Resolves with a reason when n8n ends by itself (a crash). */
	died: Promise<string>;
	stop(): Promise<void>;
}

/** Set once this process has claimed .data/ (after the "already running" check): only then may it clean up there. */
export const ownership = { claimed: false, interrupted: false };

/** Removes .data/state.json if this process wrote it. */
export function releaseState(): void {
	const s = readState();
	if (s?.pid === process.pid) fs.rmSync(paths.state, { force: true });
}

const SOURCE_ENTRIES = ['nodes', 'credentials', 'package.json', 'tsconfig.json', 'gulpfile.js', 'README.md', 'LICENSE'];
const PACKAGE_NAME = 'n8n-nodes-auto-delivery';
/** n8n's log lines worth showing a seller without --verbose (n8n's console log has no level prefix). */
const NOTABLE = /Shop Webhook .* answered \d{3}|Failed to load package|Unrecognized node type|could not be activated|^Error: |\| error \|/;

// ---------------------------------------------------------------------------------------------
// Leftovers of a previous run that was killed (SIGKILL, closed terminal…)
// ---------------------------------------------------------------------------------------------

/** Process groups of n8n processes (server, CLI, task runner) that use our n8n user folder. */
export function leftoverGroups(userFolder: string): number[] {
	const marker = `N8N_USER_FOLDER=${userFolder}`;
	const own = new Set([process.pid, readPgid(process.pid)]);
	const groups = new Set<number>();
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const pid = Number(entry);
		if (own.has(pid)) continue;
		let environ: string;
		try {
			environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
		} catch {
			continue;
		}
		if (!environ.split('\0').includes(marker)) continue;
		const pgid = readPgid(pid);
		if (pgid && !own.has(pgid)) groups.add(pgid);
	}
	return [...groups];
}

function readPgid(pid: number): number {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
	} catch {
		return 0;
	}
}

async function killGroups(groups: number[]): Promise<void> {
	for (const g of groups) {
		try {
			process.kill(-g, 'SIGTERM');
		} catch {
			// gone
		}
	}
	const deadline = Date.now() + 10_000;
	for (const g of groups) {
		while (groupAlive(g) && Date.now() < deadline) await sleep(200);
		try {
			process.kill(-g, 'SIGKILL');
		} catch {
			// gone
		}
	}
}

function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

// ---------------------------------------------------------------------------------------------
// Bundled workflows
// ---------------------------------------------------------------------------------------------

interface WorkflowFile {
	file: string;
	sha: string;
	workflows: WorkflowInput[];
}

/** A stable n8n-shaped id (16 alphanumerics) for a workflow file that has none. */
function stableId(file: string, index: number): string {
	const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
	const digest = Buffer.from(sha256(`auto-delivery-demo:${file}:${index}`), 'hex');
	return `ad${Array.from(digest.subarray(0, 14), (b) => alphabet[b % alphabet.length]).join('')}`;
}

function readWorkflowFiles(): WorkflowFile[] {
	if (!fs.existsSync(paths.workflowsDir)) return [];
	return fs
		.readdirSync(paths.workflowsDir)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((file) => {
			const text = fs.readFileSync(path.join(paths.workflowsDir, file), 'utf8');
			let parsed: WorkflowInput | WorkflowInput[];
			try {
				parsed = JSON.parse(text) as WorkflowInput | WorkflowInput[];
			} catch (err) {
				throw new DemoError(`workflows/${file} is not valid JSON: ${(err as Error).message}`);
			}
			const list = (Array.isArray(parsed) ? parsed : [parsed]).map((w, i) => ({ ...w, id: typeof w.id === 'string' && w.id ? w.id : stableId(file, i) }));
			return { file, sha: sha256(text), workflows: list };
		});
}

type NodeJson = { name?: string; type?: string; parameters?: Record<string, unknown>; webhookId?: string; disabled?: boolean };

/** Whether n8n can publish the workflow: an enabled trigger node other than the manual one. */
function hasTrigger(w: WorkflowInput): boolean {
	return (w.nodes as NodeJson[]).some((n) => {
		const t = n.type ?? '';
		if (n.disabled || /manualTrigger$/i.test(t) || /stickyNote$/.test(t)) return false;
		return /trigger$/i.test(t) || /\.webhook$/.test(t) || /\.shopWebhook$/.test(t);
	});
}

function describeSchedule(params: Record<string, unknown> | undefined): string {
	const rule = params?.rule as { interval?: Array<Record<string, unknown>> } | undefined;
	const first = rule?.interval?.[0];
	if (!first) return 'on a schedule';
	const field = String(first.field ?? 'days');
	const n = first[`${field}Interval`] ?? 1;
	if (field === 'cronExpression') return `cron ${String(first.expression ?? '')}`;
	return `every ${String(n)} ${Number(n) === 1 ? field.replace(/s$/, '') : field}`;
}

function describeWorkflow(file: string, w: WorkflowInput, baseUrl: string, published: boolean): BundledWorkflow {
	const out: BundledWorkflow = { file, id: w.id as string, name: w.name, published, webhooks: [], forms: [], schedules: [] };
	for (const n of w.nodes as NodeJson[]) {
		if (n.disabled) continue;
		const t = n.type ?? '';
		const p = n.parameters ?? {};
		if (/\.shopWebhook$/.test(t)) {
			const route = String(p.path ?? 'auto-delivery/order-paid');
			out.webhooks.push({ node: n.name ?? '', method: 'POST', path: route, url: `${baseUrl}/webhook/${route}` });
		} else if (/^n8n-nodes-base\.webhook$/.test(t)) {
			const route = String(p.path ?? n.webhookId ?? '');
			out.webhooks.push({ node: n.name ?? '', method: String(p.httpMethod ?? 'GET'), path: route, url: `${baseUrl}/webhook/${route}` });
		} else if (/^n8n-nodes-base\.formTrigger$/.test(t)) {
			const route = String(p.path ?? (p.options as { path?: string } | undefined)?.path ?? n.webhookId ?? '');
			out.forms.push({ node: n.name ?? '', path: route, url: `${baseUrl}/form/${route}`, title: typeof p.formTitle === 'string' ? p.formTitle : null });
		} else if (/scheduleTrigger$/.test(t)) {
			out.schedules.push(describeSchedule(p));
		}
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// n8n owner account
// ---------------------------------------------------------------------------------------------

async function restJson(url: string, init: RequestInit = {}): Promise<{ status: number; json: Record<string, unknown> | null }> {
	const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) }, signal: AbortSignal.timeout(15_000) });
	const text = await res.text();
	let json: Record<string, unknown> | null = null;
	try {
		json = JSON.parse(text) as Record<string, unknown>;
	} catch {
		// not JSON
	}
	return { status: res.status, json };
}

/**
 * n8n asks for an owner account on the first visit. The demo creates it (loopback only) so that the
 * editor opens with a login printed in the terminal, and the screenshots can log in.
 */
async function ensureOwner(baseUrl: string, secrets: Secrets): Promise<{ created: boolean; passwordWorks: boolean }> {
	const settings = await restJson(`${baseUrl}/rest/settings`);
	const data = (settings.json?.data ?? {}) as { userManagement?: { showSetupOnFirstLoad?: boolean } };
	let created = false;
	if (data.userManagement?.showSetupOnFirstLoad) {
		const r = await restJson(`${baseUrl}/rest/owner/setup`, { method: 'POST', body: JSON.stringify(secrets.owner) });
		if (r.status !== 200) throw new DemoError(`Creating the n8n owner account failed (${r.status}): ${JSON.stringify(r.json)}`);
		created = true;
	}
	const login = await restJson(`${baseUrl}/rest/login`, {
		method: 'POST',
		body: JSON.stringify({ emailOrLdapLoginId: secrets.owner.email, password: secrets.owner.password }),
	});
	return { created, passwordWorks: login.status === 200 };
}

// ---------------------------------------------------------------------------------------------
// Launch
// ---------------------------------------------------------------------------------------------

export async function launch(opts: LaunchOptions): Promise<Launched> {
	const out = opts.out;
	const t0 = Date.now();
	const timings: Record<string, number> = {};
	const step = async <T>(title: string, fn: () => Promise<T>, heartbeatMs = 15_000): Promise<T> => {
		if (ownership.interrupted) throw new DemoError('interrupted');
		const ts = Date.now();
		out(`${c.cyan('▸')} ${title}…`);
		const timer = heartbeatMs > 0 ? setInterval(() => out(c.dim(`  … ${title}: ${seconds(Date.now() - ts)}`)), heartbeatMs) : undefined;
		try {
			const r = await fn();
			timings[title] = Date.now() - ts;
			if (timings[title] >= 1500) out(c.dim(`  ✓ ${seconds(timings[title])}`));
			return r;
		} finally {
			clearInterval(timer);
		}
	};
	const note = (line: string) => out(c.dim(`  ${line}`));

	fs.mkdirSync(paths.data, { recursive: true });
	fs.mkdirSync(paths.logsDir, { recursive: true });

	// Another npm start on the same data?
	const previous = readState();
	if (previous && previous.pid !== process.pid && pidAlive(previous.pid)) {
		const where = previous.status === 'ready' ? `, ${previous.baseUrl}` : ', still starting';
		throw new DemoError(`npm start is already running on this data folder (pid ${previous.pid}${where}). Use that one, or stop it with Ctrl-C in its terminal first.`);
	}
	// Claim the data folder: another npm start (or npm run demo) now sees us as "starting".
	writeJson(paths.state, { pid: process.pid, status: 'starting', startedAt: new Date().toISOString() });
	ownership.claimed = true;
	const leftovers = leftoverGroups(paths.userFolder);
	if (leftovers.length) {
		out(c.yellow(`A previous npm start left n8n processes behind (process groups ${leftovers.join(', ')}); stopping them.`));
		await killGroups(leftovers);
	}

	// 1. Runtime
	const cache = defaultCacheDir();
	const cached = fs.existsSync(path.join(cache, `n8n-${N8N_VERSION}`, '.complete')) && fs.existsSync(path.join(cache, `node-${NODE_VERSION}`, '.complete'));
	if (!cached) {
		out(c.bold(`First use: installing Node ${NODE_VERSION} and n8n ${N8N_VERSION} into ${cache}`));
		out(`  (about 3 GB, 6–10 minutes, once; the next starts take seconds. Progress below, npm's output in ${path.join(cache, 'logs')}.)`);
	}
	const runtime = await step(cached ? `Runtime: Node ${NODE_VERSION} + n8n ${N8N_VERSION} (cached in ${cache})` : 'Installing the runtime', () => ensureRuntime({ log: note }), cached ? 60_000 : 0); // the installer prints its own heartbeat

	// 2. Port, secrets, instance
	let port: number;
	if (opts.port) {
		if (!(await portFree(opts.port))) throw new DemoError(`Port ${opts.port} is in use on 127.0.0.1; choose another one (--port / AD_PORT) or leave it out to pick the next free one from 5678.`);
		port = opts.port;
	} else {
		port = await firstFreePort(5678);
		if (port !== 5678) out(c.yellow(`Port 5678 is in use: n8n will listen on ${port}.`));
	}
	const secrets = loadSecrets(true);
	writeSigningSecretFile(secrets);
	const install = readJson<InstallInfo>(paths.install, {});
	const saveInstall = () => writeJson(paths.install, install);
	const n8n = await createInstance({
		runtime,
		userFolder: paths.userFolder,
		port,
		env: {
			N8N_ENCRYPTION_KEY: secrets.n8nEncryptionKey,
			// The editor would ask api.n8n.io for the verified community nodes (and log stack traces offline).
			N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		},
		log: note,
	});
	const freshN8n = !fs.existsSync(path.join(n8n.n8nFolder, 'database.sqlite'));
	if (freshN8n) {
		// A new (or deleted) n8n folder: nothing of ours is in its database yet.
		delete install.credentialsFingerprint;
		delete install.workflows;
		delete install.workflowsTarballSha;
	}

	// 3. Package
	const sourceFp = fingerprint(REPO_ROOT, SOURCE_ENTRIES);
	let tarball = install.tarball ? path.join(paths.packageDir, install.tarball) : '';
	if (install.sourceFingerprint !== sourceFp || !tarball || !fs.existsSync(tarball)) {
		tarball = await step('Building and packing the package (npm run build + npm pack)', async () => {
			fs.rmSync(paths.packageDir, { recursive: true, force: true });
			return packTarball({ fresh: true, outDir: paths.packageDir, log: note });
		});
		install.tarball = path.basename(tarball);
		install.sourceFingerprint = sourceFp;
		saveInstall();
	} else {
		out(`${c.cyan('▸')} Package: sources unchanged, reusing ${rel(tarball)}`);
	}
	const tarballSha = sha256(fs.readFileSync(tarball));
	const installedManifest = path.join(n8n.nodesDir, 'node_modules', PACKAGE_NAME, 'package.json');
	if (install.installedTarballSha !== tarballSha || !fs.existsSync(installedManifest)) {
		await step(`Installing ${path.basename(tarball)} into n8n (${rel(n8n.nodesDir)})`, () => n8n.installPackage(tarball));
		install.installedTarballSha = tarballSha;
		saveInstall();
	} else {
		out(`${c.cyan('▸')} Package: already installed in n8n (tarball unchanged)`);
	}

	// 4. Demo peers
	const startedAt = Date.now();
	const liveMail = (m: StoredMail) => {
		if (opts.live) out(`${c.dim(clock(m.at))} ${c.green('mail')}  to ${m.to.join(', ')}: ${m.subject}  ${c.dim(`(.data/mail/${m.eml})`)}`);
	};
	const liveShop = (s: StoredShopCall) => {
		if (opts.live) out(`${c.dim(clock(s.at))} ${c.green('shop')}  ${s.method} ${s.path} → ${s.status}${s.reference ? ` ${s.reference}` : ''}`);
	};
	const smtp: DemoSmtp = await startDemoSmtp({ dir: paths.mailDir, preferredPort: install.ports?.smtp, onMail: liveMail });
	let shop: DemoShop;
	try {
		shop = await startDemoShop({ dir: paths.shopDir, token: secrets.shopApiToken, preferredPort: install.ports?.shop, onCall: liveShop });
	} catch (err) {
		await smtp.close();
		throw err;
	}
	install.ports = { smtp: smtp.port, shop: shop.port };
	saveInstall();
	out(`${c.cyan('▸')} Demo SMTP server on ${smtp.host}:${smtp.port}, demo shop API on ${shop.url}`);

	const closePeers = async () => {
		await Promise.allSettled([smtp.close(), shop.close()]);
	};

	try {
		// 5. Credentials
		const credentials: CredentialInput[] = [
			{
				...CREDENTIALS.keyStore,
				// The delivery page of workflows/delivery-page.json: {提货链接} / deliveryLink point there.
				data: { database: 'sqlite', sqlitePath: paths.keyStore, encryptionSecret: secrets.keyStoreSecret, tablePrefix: 'ad_', deliveryPageUrl: n8n.webhookUrl('auto-delivery/delivery'), deliveryLinkTtlDays: 7 },
			},
			{
				...CREDENTIALS.shopApi,
				data: { baseUrl: shop.url, authType: 'bearer', token: secrets.shopApiToken, signingSecret: secrets.shopSigningSecret, ignoreSslIssues: false },
			},
			{ ...CREDENTIALS.smtp, data: { host: smtp.host, port: smtp.port, security: 'none', user: '', password: '', from: SHOP_FROM, ignoreSslIssues: false } },
			{ ...CREDENTIALS.sellerSmtp, data: { host: smtp.host, port: smtp.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
			{ ...CREDENTIALS.formLogin, data: { user: secrets.form.user, password: secrets.form.password } },
		];
		const credFp = sha256(JSON.stringify(credentials));
		if (install.credentialsFingerprint !== credFp) {
			await step(`Importing ${credentials.length} demo credentials (n8n import:credentials)`, () => n8n.importCredentials(credentials));
			install.credentialsFingerprint = credFp;
			saveInstall();
		} else {
			out(`${c.cyan('▸')} Credentials: unchanged`);
		}

		// 6. Workflows
		const files = readWorkflowFiles();
		const tarballChanged = install.workflowsTarballSha !== tarballSha;
		const changed = files.filter((f) => tarballChanged || install.workflows?.[f.file]?.sha !== f.sha);
		const removed = Object.keys(install.workflows ?? {}).filter((f) => !files.some((x) => x.file === f));
		if (removed.length) {
			const ids = removed.flatMap((f) => install.workflows?.[f]?.ids ?? []);
			await step(`Unpublishing workflows whose file is gone (${removed.join(', ')})`, async () => {
				for (const id of ids) await n8n.cli(['unpublish:workflow', `--id=${id}`], { allowFailure: true });
			});
			for (const f of removed) delete install.workflows?.[f];
			saveInstall();
		}
		if (changed.length) {
			const why = tarballChanged && install.workflowsTarballSha ? ' (the package changed)' : '';
			const list = changed.flatMap((f) => f.workflows);
			await step(`Importing ${list.length} workflow(s)${why}: ${changed.map((f) => f.file).join(', ')}`, () => n8n.importWorkflow(list));
			const toPublish = list.filter(hasTrigger);
			if (toPublish.length) {
				await step(`Publishing ${toPublish.length} workflow(s) (n8n publish:workflow, ~6 s each)`, async () => {
					for (const w of toPublish) {
						if (ownership.interrupted) throw new DemoError('interrupted');
						const ts = Date.now();
						await n8n.publish(w.id as string);
						note(`published "${w.name}" (${seconds(Date.now() - ts)})`);
					}
				});
			}
			install.workflows = { ...(install.workflows ?? {}) };
			for (const f of changed) install.workflows[f.file] = { sha: f.sha, ids: f.workflows.map((w) => w.id as string) };
			install.workflowsTarballSha = tarballSha;
			saveInstall();
		} else {
			out(`${c.cyan('▸')} Workflows: ${files.length} file(s) unchanged, already imported and published`);
		}

		// 7. Demo stock
		const stock = await step('Demo stock in the key store', () => ensureDemoStock(secrets.keyStoreSecret));
		for (const s of stock) note(`${s.sku}: ${s.available} available${s.toppedUp ? ` (topped up with ${s.toppedUp} new demo keys)` : ''}, ${s.assigned} delivered`);

		// 8. n8n
		const logMark = { at: n8n.logMark(), ended: '' };
		const pumpLogs = () => {
			const text = n8n.logs(logMark.at);
			logMark.at = n8n.logMark();
			if (!text) return;
			fs.appendFileSync(paths.n8nLog, text);
			const end = /--- n8n start ended \(([^)]*)\) ---/.exec(text);
			if (end) logMark.ended = end[1];
			for (const line of text.split('\n')) {
				if (opts.verbose) {
					if (line.trim()) out(c.dim(`[n8n] ${line}`));
				} else if (NOTABLE.test(line)) out(c.yellow(`[n8n] ${line.slice(0, 400)}`));
			}
		};
		fs.appendFileSync(paths.n8nLog, `\n===== npm start ${new Date().toISOString()} (pid ${process.pid}, port ${port}) =====\n`);
		const pump = setInterval(pumpLogs, 1000);
		try {
			await step(`Starting n8n ${N8N_VERSION} on port ${port} (usually 15–30 s)`, () => n8n.start({ allowActivationErrors: true, timeoutMs: 300_000 }), 10_000);
		} catch (err) {
			clearInterval(pump);
			pumpLogs();
			throw err;
		}
		const published = await n8n.publicationState();
		for (const s of published) if (s.errors.length) out(c.yellow(`Workflow "${s.name}" could not be activated: ${s.errors.join('; ')}`));

		// 9. Owner account
		const owner = await step('n8n owner account', () => ensureOwner(n8n.baseUrl, secrets));
		if (owner.created) note(`created ${secrets.owner.email} (the password is in ${rel(paths.secrets)})`);

		const publishedIds = new Set(published.filter((s) => !s.errors.length).map((s) => s.workflowId));
		const workflows = files.flatMap((f) => f.workflows.map((w) => describeWorkflow(f.file, w, n8n.baseUrl, publishedIds.has(w.id as string))));
		const orderPaid = workflows.flatMap((w) => (w.published ? w.webhooks : [])).find((h) => h.path === 'auto-delivery/order-paid');
		const state: DemoState = {
			pid: process.pid,
			status: 'ready',
			startedAt: new Date(startedAt).toISOString(),
			readyAt: new Date().toISOString(),
			baseUrl: n8n.baseUrl,
			port,
			smtp: { host: smtp.host, port: smtp.port },
			shop: { url: shop.url, port: shop.port },
			workflows,
			owner: { email: secrets.owner.email, passwordWorks: owner.passwordWorks },
			orderPaidUrl: orderPaid?.url ?? null,
		};
		writeJson(paths.state, state);
		timings.total = Date.now() - t0;

		let stopping: Promise<void> | undefined;
		const died = (async () => {
			for (;;) {
				await sleep(1000);
				if (stopping) return new Promise<string>(() => undefined); // never: stop() was asked for
				if (logMark.ended) return `n8n ended by itself (${logMark.ended})`;
			}
		})();
		const stop = () =>
			(stopping ??= (async () => {
				try {
					await n8n.stop();
				} finally {
					clearInterval(pump);
					pumpLogs();
					await closePeers();
					releaseState();
				}
			})());
		return { state, secrets, n8n, stock, timings, died, stop };
	} catch (err) {
		await n8n.stop().catch(() => undefined);
		await closePeers();
		releaseState();
		throw err;
	}
}

// ---------------------------------------------------------------------------------------------
// What the seller sees
// ---------------------------------------------------------------------------------------------

export function summary(l: Launched): string[] {
	const { state, secrets } = l;
	const lines: string[] = [];
	const width = (s: string) => [...s].reduce((n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
	const short = (name: string) => name.replace(/^Auto Delivery\s*[–-]\s*/, '');
	const names = state.workflows.flatMap((w) => [short(w.name), ...w.forms.map((f) => f.title ?? short(w.name))]);
	const col = Math.min(72, Math.max(34, ...names.map(width)) + 2);
	const pad = (s: string, n = col) => s + ' '.repeat(Math.max(1, n - width(s)));
	lines.push('');
	lines.push(c.green(c.bold(`Ready in ${seconds(l.timings.total)}: n8n ${N8N_VERSION} with n8n-nodes-auto-delivery is running.`)));
	lines.push('');
	lines.push(`${c.bold('n8n editor')}    ${state.baseUrl}`);
	if (state.owner.passwordWorks) {
		lines.push(`  log in with  ${secrets.owner.email}  /  ${secrets.owner.password}`);
		lines.push(c.dim(`  (owner account created by npm start; saved in ${rel(paths.secrets)}; change it in n8n under Settings → Personal)`));
	} else {
		lines.push(`  log in with  ${secrets.owner.email}  and the password you set in n8n`);
	}
	const hooks = state.workflows.filter((w) => w.published && w.webhooks.length);
	if (hooks.length) {
		lines.push('');
		lines.push(c.bold('Webhooks (your shop calls these, signed with the shop signing secret)'));
		for (const w of hooks) for (const h of w.webhooks) lines.push(`  ${pad(short(w.name))} ${h.method} ${h.url}`);
	}
	const forms = state.workflows.filter((w) => w.published && w.forms.length);
	if (forms.length) {
		lines.push('');
		lines.push(`${c.bold('Forms')} (log in with  ${secrets.form.user}  /  ${secrets.form.password})`);
		for (const w of forms) for (const f of w.forms) lines.push(`  ${pad(f.title ?? short(w.name))} ${f.url}`);
	}
	const schedules = state.workflows.filter((w) => w.published && w.schedules.length);
	if (schedules.length) {
		lines.push('');
		lines.push(c.bold('Scheduled'));
		for (const w of schedules) lines.push(`  ${pad(short(w.name))} ${w.schedules.join(', ')}`);
	}
	const others = state.workflows.filter((w) => !w.published);
	if (others.length) {
		lines.push('');
		lines.push(c.bold('Also imported (open them in the editor; no trigger to publish)'));
		for (const w of others) lines.push(`  ${pad(short(w.name))} ${state.baseUrl}/workflow/${w.id}`);
	}
	lines.push('');
	lines.push(c.bold('Demo peers and data'));
	lines.push(`  ${pad('SMTP server (keeps every mail)')} ${state.smtp.host}:${state.smtp.port}  → ${rel(paths.mailDir)}/ (mails.jsonl, *.eml)`);
	lines.push(`  ${pad('Shop API (records ship calls)')} ${state.shop.url}  → ${rel(paths.shopCalls)}`);
	lines.push(`  ${pad('Key store (SQLite)')} ${rel(paths.keyStore)}  ${l.stock.map((s) => `${s.sku}: ${s.available} keys`).join(', ')}`);
	lines.push(`  ${pad('Everything else')} ${rel(paths.data)}/ (n8n in ${rel(paths.userFolder)}/.n8n, logs in ${rel(paths.logsDir)}/, secrets in ${rel(paths.secrets)})`);
	lines.push('');
	if (state.orderPaidUrl) {
		lines.push(c.bold('Send a demo order'));
		lines.push(`  in another terminal:   ${c.cyan('npm run demo')}`);
		lines.push('  or with curl (bash; signs the body with the secret in .data/shop-signing-secret):');
		lines.push(`  ${curlOneLiner(state.orderPaidUrl, DEMO_PRODUCTS[0].sku)}`);
	} else {
		lines.push(c.yellow('No published workflow listens on auto-delivery/order-paid (workflows/order-paid.json): npm run demo has nothing to send to.'));
	}
	lines.push('');
	lines.push(`Mails and ship calls are shown below as they happen. ${c.bold('Ctrl-C')} stops everything; data stays in ${rel(paths.data)}/.`);
	lines.push('');
	return lines;
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): { port?: number; verbose: boolean } {
	let port = process.env.AD_PORT ? Number(process.env.AD_PORT) : undefined;
	let verbose = process.env.AD_VERBOSE === '1';
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--port') port = Number(argv[++i]);
		else if (a.startsWith('--port=')) port = Number(a.slice(7));
		else if (a === '--verbose' || a === '-v') verbose = true;
		else if (a === '--help' || a === '-h') {
			process.stdout.write('npm start [-- --port N] [--verbose]   (see DEVELOPERS.md, "npm start, npm run demo, npm run screenshots")\n');
			process.exit(0);
		} else throw new DemoError(`Unknown option ${a} (try --port N or --verbose)`);
	}
	if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new DemoError('--port / AD_PORT must be a port number (1–65535).');
	return { port, verbose };
}

async function main(): Promise<void> {
	fs.mkdirSync(paths.logsDir, { recursive: true });
	// eslint-disable-next-line no-control-regex
	const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
	const out = (line: string) => {
		process.stdout.write(`${line}\n`);
		try {
			fs.appendFileSync(paths.startLog, `${plain(line)}\n`);
		} catch {
			// the log is a convenience
		}
	};
	fs.appendFileSync(paths.startLog, `\n===== ${new Date().toISOString()} npm start (pid ${process.pid}) =====\n`);

	let launched: Launched | undefined;
	let signals = 0;
	let exiting = false;
	const shutdown = async (why: string, code: number) => {
		if (exiting) return;
		exiting = true;
		out('');
		out(`${why}: stopping n8n and the demo peers…`);
		const t0 = Date.now();
		try {
			if (launched) await launched.stop();
		} finally {
			const left = ownership.claimed ? leftoverGroups(paths.userFolder) : [];
			if (left.length) await killGroups(left);
			releaseState();
			out(`Stopped in ${seconds(Date.now() - t0)}. Data is kept in ${rel(paths.data)}/ — \`npm start\` continues where you left off (delete the folder to start over).`);
			process.exit(code);
		}
	};
	let lastSignalAt = 0;
	const onSignal = (sig: NodeJS.Signals) => {
		// Ctrl-C reaches us twice: from the terminal (the whole foreground process group) and forwarded by npm.
		if (Date.now() - lastSignalAt < 1000) return;
		lastSignalAt = Date.now();
		signals++;
		if (signals === 1) {
			if (!launched) {
				// Still starting: CLI commands run in their own process groups; the e2e driver kills them at exit.
				out('');
				out(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: interrupted while starting; cleaning up (the next npm start redoes the unfinished steps)…`);
				exiting = true;
				ownership.interrupted = true;
				const left = ownership.claimed ? leftoverGroups(paths.userFolder) : [];
				void killGroups(left).finally(() => {
					releaseState();
					process.exit(0);
				});
				return;
			}
			void shutdown(sig === 'SIGINT' ? 'Ctrl-C' : sig, 0);
		} else if (signals === 2) out('Still stopping (n8n shuts down gracefully, at most ~20 s). Press Ctrl-C again to kill it now.');
		else {
			for (const g of leftoverGroups(paths.userFolder)) {
				try {
					process.kill(-g, 'SIGKILL');
				} catch {
					// gone
				}
			}
			process.exit(1);
		}
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
	process.on('SIGHUP', onSignal);

	const args = parseArgs(process.argv.slice(2));
	out(c.bold('n8n-nodes-auto-delivery — local demo (npm start)'));
	launched = await launch({ out, port: args.port, verbose: args.verbose, live: true });
	for (const line of summary(launched)) out(line);
	const reason = await launched.died;
	out(c.red(`${reason}. The end of its log is in ${rel(paths.n8nLog)}.`));
	try {
		out(execFileSync('tail', ['-n', '25', paths.n8nLog], { encoding: 'utf8' }));
	} catch {
		// no tail
	}
	await shutdown('n8n stopped', 1);
}

if (require.main === module) {
	main().catch((err) => {
		if (ownership.interrupted) return; // the steps failed because Ctrl-C stopped them: the signal handler exits
		const msg = err instanceof DemoError ? err.message : (err as Error).stack ?? String(err);
		process.stderr.write(`\n${c.red('npm start failed:')} ${msg}\n`);
		// Only clean up what is ours: never the n8n of another npm start on the same data.
		const left = ownership.claimed ? leftoverGroups(paths.userFolder) : [];
		void killGroups(left).finally(() => {
			if (ownership.claimed) releaseState();
			process.exit(1);
		});
	});
}
