/**
 * A real n8n 2.41.1 (on Node 24, from the cached runtime) driven like an operator would drive it:
 * the package tarball installed with npm into `<user folder>/.n8n/nodes`, credentials and
 * workflows imported with n8n's CLI, workflows published with the CLI, then `n8n start`.
 *
 *   const n8n = await createInstance();                       // fresh temp user folder, free ports
 *   await n8n.installPackage(await packTarball());
 *   const [credId] = await n8n.importCredentials([{ name: 'Store', type: 'autoDeliveryKeyStore', data: { … } }]);
 *   const [wfId] = await n8n.importWorkflow({ name: 'wf', nodes: [...], connections: {...} });
 *   await n8n.publish(wfId);
 *   await n8n.start();                                        // returns when webhooks answer
 *   const res = await fetch(n8n.webhookUrl('my-path'), { method: 'POST', body: … });
 *   await n8n.waitForExecutions(1);
 *   const raw = await n8n.sqlite().executionData();           // n8n's own execution_data rows
 *   n8n.logs();                                               // everything n8n printed so far
 *   await n8n.dispose();                                      // stop + remove the temp folder
 *
 * CLI steps (install/import/publish) need n8n stopped (n8n reads published workflows at start);
 * they throw if it is running. Every n8n process gets the same environment (see `baseEnv`): offline,
 * quiet, deterministic, with a fixed encryption key, SQLite in the user folder.
 *
 * Processes: `n8n start` runs in its own process group (it spawns the JS task runner); stop()
 * sends SIGTERM (graceful), then SIGKILL to the whole group, and waits until the group is gone.
 * Anything still running when the test process exits is killed as well.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT } from './pack';
import {
	ensureRuntime,
	findSqlite3Binding,
	sqlite3Version,
	storeSqlite3Binding,
	verifySqlite3,
	type Runtime,
} from './runtime';

export { packTarball } from './pack';
export { ensureRuntime } from './runtime';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export interface InstanceOptions {
	/** N8N_USER_FOLDER (n8n uses `<userFolder>/.n8n`). Default: a fresh temp dir, removed by dispose(). */
	userFolder?: string;
	/** HTTP port. Default: a free port. */
	port?: number;
	/** Extra environment for every n8n process (CLI and start); `undefined` removes a default. */
	env?: Record<string, string | undefined>;
	/** Default: `await ensureRuntime({ log })`. */
	runtime?: Runtime;
	/** Progress lines of the driver (not n8n's output — see logs()). */
	log?: (line: string) => void;
	/** Keep the temp user folder on dispose() (default: env AD_E2E_KEEP=1). */
	keep?: boolean;
}

export interface CredentialInput {
	/** Default: a generated 16-character id (returned). */
	id?: string;
	name: string;
	/** Credential type name, e.g. 'autoDeliveryKeyStore'. */
	type: string;
	/** Plain data: `n8n import:credentials` encrypts a JSON object with the instance's encryption key. */
	data: Record<string, unknown>;
}

export interface WorkflowInput {
	/** Default: a generated 16-character id (returned). */
	id?: string;
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface InstallResult {
	name: string;
	version: string;
	ms: number;
	/** Every sqlite3 copy in the install and where its native binding came from. */
	sqlite3: Array<{ dir: string; version: string; binding: 'present' | 'cache' | 'n8n' | 'repo' | 'built' | 'missing' }>;
}

export interface InstallOptions {
	/**
	 * 'provide' (default): give every sqlite3 copy a native binding for n8n's Node (cached, copied or
	 * built). 'leave': leave it as `npm install --ignore-scripts` left it — no binding — which is what
	 * n8n's Community Nodes installer does; the store must then use n8n's own sqlite3.
	 */
	sqlite3Binding?: 'provide' | 'leave';
}

export interface CliResult {
	code: number;
	output: string;
	ms: number;
}

export interface ExecutionRow {
	id: number;
	workflowId: string;
	status: string;
	mode: string;
	finished: boolean;
	startedAt: string | null;
	stoppedAt: string | null;
}

export interface ExecutionDataRow {
	executionId: number;
	workflowData: string;
	data: string;
}

export interface ParsedExecution {
	id: number;
	status: string;
	lastNodeExecuted: string | null;
	/** The workflow-level error (message etc.), if any. */
	error: Record<string, unknown> | null;
	/** outputs[node][outputIndex] = the `json` of the items of that output in the node's last run. */
	outputs: Record<string, unknown[][]>;
	/** resultData.runData as n8n stored it. */
	runData: Record<string, unknown[]>;
}

export interface N8nDatabase {
	/** <userFolder>/.n8n/database.sqlite */
	file: string;
	/** Any read-only query on n8n's own database. */
	all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
	executions(filter?: { workflowId?: string }): Promise<ExecutionRow[]>;
	/** The raw `data` column of every execution_data row (n8n's serialized run data), by execution id. */
	executionData(): Promise<string[]>;
	/** execution_data rows with both serialized columns (`workflowData` holds the workflow as it ran). */
	executionRows(): Promise<ExecutionDataRow[]>;
	/** One execution decoded (n8n stores it with `flatted`). */
	execution(id: number): Promise<ParsedExecution>;
}

export interface PublicationState {
	workflowId: string;
	name: string;
	activeVersionId: string;
	publishedVersionId: string | null;
	/** Latest publication outbox status for the active version (pending, in_progress, completed, partial_success, failed). */
	outboxStatus: string | null;
	errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: nothing outlives the test process
// ---------------------------------------------------------------------------------------------

const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
	liveGroups.add(pid);
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.once('exit', () => {
		for (const pgid of liveGroups) {
			try {
				process.kill(-pgid, 'SIGKILL');
			} catch {
				// gone
			}
		}
	});
}

function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			const port = typeof addr === 'object' && addr ? addr.port : 0;
			srv.close(() => resolve(port));
		});
	});
}

/** An id shaped like n8n's own (16 alphanumerics). */
export function n8nId(): string {
	const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
	return Array.from(randomBytes(16), (b) => alphabet[b % alphabet.length]).join('');
}

function httpStatus(url: string, method = 'GET', timeoutMs = 2000): Promise<number> {
	return new Promise((resolve) => {
		const req = http.request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
			res.resume();
			resolve(res.statusCode ?? 0);
		});
		req.on('timeout', () => req.destroy());
		req.on('error', () => resolve(0));
		req.end();
	});
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/** Variables of the calling process that must not leak into n8n (jest sets NODE_ENV=test, which n8n refuses). */
const INHERIT_BLOCKLIST = /^(N8N_|DB_|EXECUTIONS_|QUEUE_|GENERIC_TIMEZONE$|WEBHOOK_URL$|NODE_ENV$|NODE_OPTIONS$|NODE_PATH$|TS_NODE_|JEST_WORKER_ID$|CREDENTIALS_)/;

export const E2E_ENCRYPTION_KEY = 'auto-delivery-e2e-fixed-encryption-key';

/**
 * The environment of every n8n process. Why each entry is there: docs/testing.md, "The environment n8n gets" and "n8n 2.41.1 notes".
 */
export function baseEnv(rt: Runtime, o: { userFolder: string; port: number; brokerPort: number }): Record<string, string> {
	const inherited: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) {
		if (v !== undefined && !INHERIT_BLOCKLIST.test(k)) inherited[k] = v;
	}
	return {
		...inherited,
		...rt.env, // Node 24 first on PATH
		NODE_ENV: 'production',
		TZ: 'UTC',
		GENERIC_TIMEZONE: 'UTC',
		N8N_USER_FOLDER: o.userFolder,
		N8N_ENCRYPTION_KEY: E2E_ENCRYPTION_KEY,
		DB_TYPE: 'sqlite',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_PORT: String(o.port),
		WEBHOOK_URL: `http://127.0.0.1:${o.port}/`,
		N8N_SECURE_COOKIE: 'false',
		// Internal task runner (Code node) with its broker on a free port: several instances can run at once.
		N8N_RUNNERS_MODE: 'internal',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: String(o.brokerPort),
		// Offline and quiet: no telemetry, no calls to api.n8n.io, no UI nags.
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_AI_ENABLED: 'false',
		N8N_DISABLED_MODULES: 'mcp-registry',
		// Community packages from <userFolder>/.n8n/nodes.
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		// Otherwise opening the editor makes n8n fetch its verified-packages list from api.n8n.io (offline: a stack trace each time).
		N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		N8N_REINSTALL_MISSING_PACKAGES: 'false',
		// Keep every execution with its data, never prune during a test.
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
		EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS: 'true',
		EXECUTIONS_DATA_PRUNE: 'false',
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_OUTPUT: 'console',
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '15',
	};
}

// ---------------------------------------------------------------------------------------------
// The instance
// ---------------------------------------------------------------------------------------------

export async function createInstance(opts: InstanceOptions = {}): Promise<N8nInstance> {
	const log = opts.log ?? (() => undefined);
	const rt = opts.runtime ?? (await ensureRuntime({ log }));
	const ownsFolder = !opts.userFolder;
	const userFolder = path.resolve(opts.userFolder ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ad-e2e-n8n-')));
	fs.mkdirSync(path.join(userFolder, '.n8n'), { recursive: true });
	const port = opts.port ?? (await freePort());
	let brokerPort = await freePort();
	while (brokerPort === port) brokerPort = await freePort();
	return new N8nInstance(rt, { ...opts, userFolder, port, brokerPort, ownsFolder, log });
}

export class N8nInstance {
	readonly runtime: Runtime;
	/** N8N_USER_FOLDER */
	readonly userFolder: string;
	/** <userFolder>/.n8n: config, database.sqlite, nodes/ */
	readonly n8nFolder: string;
	/** <userFolder>/.n8n/nodes: where community packages are installed */
	readonly nodesDir: string;
	readonly port: number;
	readonly brokerPort: number;
	/** http://127.0.0.1:<port> (no trailing slash) */
	readonly baseUrl: string;
	/** Milliseconds of the steps so far: install, start, stop (the last one), cli:<command> (summed over calls). */
	readonly timings: Record<string, number> = {};

	private readonly env: Record<string, string>;
	private readonly ownsFolder: boolean;
	private readonly keep: boolean;
	private readonly log: (line: string) => void;
	private readonly output: string[] = [];
	private proc: ChildProcess | undefined;
	private exited: Promise<void> | undefined;

	constructor(
		rt: Runtime,
		o: InstanceOptions & { userFolder: string; port: number; brokerPort: number; ownsFolder: boolean; log: (line: string) => void },
	) {
		this.runtime = rt;
		this.userFolder = o.userFolder;
		this.n8nFolder = path.join(o.userFolder, '.n8n');
		this.nodesDir = path.join(this.n8nFolder, 'nodes');
		this.port = o.port;
		this.brokerPort = o.brokerPort;
		this.baseUrl = `http://127.0.0.1:${o.port}`;
		this.ownsFolder = o.ownsFolder;
		this.keep = o.keep ?? process.env.AD_E2E_KEEP === '1';
		this.log = o.log;
		const env = baseEnv(rt, { userFolder: o.userFolder, port: o.port, brokerPort: o.brokerPort });
		for (const [k, v] of Object.entries(o.env ?? {})) {
			if (v === undefined) delete env[k];
			else env[k] = v;
		}
		this.env = env;
	}

	/** The environment n8n processes get (a copy). */
	get environment(): Record<string, string> {
		return { ...this.env };
	}

	get running(): boolean {
		return this.proc !== undefined;
	}

	/** Pid of `n8n start` (also its process group id: the task runner is in the group), while running. */
	get pid(): number | undefined {
		return this.proc?.pid;
	}

	/** Production webhook URL of a Webhook node path. */
	webhookUrl(webhookPath: string): string {
		return `${this.baseUrl}/webhook/${webhookPath.replace(/^\//, '')}`;
	}

	/** Production URL of a Form Trigger path. */
	formUrl(formPath: string): string {
		return `${this.baseUrl}/form/${formPath.replace(/^\//, '')}`;
	}

	// ------------------------------------------------------------------ output

	private append(what: string): void {
		this.output.push(stripAnsi(what));
	}

	/** A position in the output, for logs(since). */
	logMark(): number {
		return this.output.length;
	}

	/** Everything n8n printed (CLI commands and `start`, stdout and stderr, ANSI colours removed), optionally since a logMark(). */
	logs(since = 0): string {
		return this.output.slice(since).join('');
	}

	/** Writes logs() to a file (default <userFolder>/n8n-output.log, also written by stop()); returns its path. */
	saveLogs(file = path.join(this.userFolder, 'n8n-output.log')): string {
		try {
			fs.writeFileSync(file, this.logs());
		} catch {
			// the folder may be gone already
		}
		return file;
	}

	/** Waits until n8n's output (since `since`) matches. */
	async waitForLog(pattern: RegExp | string, opts: { timeoutMs?: number; since?: number } = {}): Promise<void> {
		const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
		const test = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
		while (!test(this.logs(opts.since ?? 0))) {
			if (Date.now() > deadline) throw new Error(`n8n never printed ${String(pattern)}; last output:\n${this.tail()}`);
			await sleep(100);
		}
	}

	private tail(lines = 60): string {
		return this.logs().split('\n').slice(-lines).join('\n');
	}

	// ------------------------------------------------------------------ CLI

	/** Runs `n8n <args>` with the instance's environment (n8n must be stopped for imports and publish). */
	cli(args: string[], opts: { timeoutMs?: number; allowFailure?: boolean } = {}): Promise<CliResult> {
		const t0 = Date.now();
		return new Promise((resolve, reject) => {
			const child = spawn(this.runtime.nodeBin, [this.runtime.n8nBin, ...args], {
				cwd: this.userFolder,
				env: this.env,
				detached: true,
				stdio: ['ignore', 'pipe', 'pipe'],
			});
			if (child.pid) trackGroup(child.pid);
			let out = '';
			const onData = (c: Buffer) => {
				out += c.toString();
			};
			child.stdout?.on('data', onData);
			child.stderr?.on('data', onData);
			const timer = setTimeout(() => {
				try {
					if (child.pid) process.kill(-child.pid, 'SIGKILL');
				} catch {
					// gone
				}
			}, opts.timeoutMs ?? 180_000);
			child.on('error', (err) => {
				clearTimeout(timer);
				reject(err);
			});
			child.on('close', (code, signal) => {
				clearTimeout(timer);
				if (child.pid) liveGroups.delete(child.pid);
				const output = stripAnsi(out);
				this.append(`\n--- n8n ${args.join(' ')} ---\n${output}`);
				const ms = Date.now() - t0;
				this.timings[`cli:${args[0]}`] = (this.timings[`cli:${args[0]}`] ?? 0) + ms;
				const result = { code: code ?? -1, output, ms };
				if ((code !== 0 || signal) && !opts.allowFailure) {
					reject(new Error(`n8n ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.split('\n').slice(-40).join('\n')}`));
				} else resolve(result);
			});
		});
	}

	private assertStopped(what: string): void {
		if (this.proc) throw new Error(`${what}: stop n8n first (the CLI changes the database n8n reads at start)`);
	}

	// ------------------------------------------------------------------ package

	/**
	 * `npm install <tarball>` in <userFolder>/.n8n/nodes (where n8n 2.x loads community packages from),
	 * without install scripts and without peer dependencies (n8n provides n8n-workflow itself, as its
	 * own community-package installer does). sqlite3 then gets a verified prebuilt N-API binding from the
	 * runtime cache (or n8n's own copy); only if none fits is it compiled (`npm rebuild sqlite3`, ~1.5 min)
	 * and the result cached for next time.
	 */
	async installPackage(tarballPath: string, opts: InstallOptions = {}): Promise<InstallResult> {
		this.assertStopped('installPackage');
		const t0 = Date.now();
		const tarball = path.resolve(tarballPath);
		if (!fs.existsSync(tarball)) throw new Error(`installPackage: no such tarball ${tarball}`);
		fs.mkdirSync(this.nodesDir, { recursive: true });
		const pkgJson = path.join(this.nodesDir, 'package.json');
		// The same file n8n writes on first start (so it does not rewrite it).
		if (!fs.existsSync(pkgJson)) fs.writeFileSync(pkgJson, `${JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2)}\n`);

		const manifest = spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
		if (manifest.status !== 0) throw new Error(`installPackage: cannot read package/package.json from ${tarball}: ${manifest.stderr}`);
		const { name, version } = JSON.parse(manifest.stdout) as { name: string; version: string };

		const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
		const npmEnv: NodeJS.ProcessEnv = { ...process.env, ...this.runtime.env, npm_config_update_notifier: 'false' };
		delete npmEnv.NODE_ENV;
		const args = ['install', tarball, '--ignore-scripts', '--legacy-peer-deps', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'];
		const r = spawnSync(npm, args, { cwd: this.nodesDir, env: npmEnv, encoding: 'utf8', timeout: 10 * 60_000 });
		this.append(`\n--- npm ${args.join(' ')} ---\n${r.stdout ?? ''}${r.stderr ?? ''}`);
		if (r.status !== 0) throw new Error(`npm install of ${tarball} failed (exit ${r.status}):\n${(r.stdout ?? '') + (r.stderr ?? '')}`);
		this.log(`[n8n] npm install ${path.basename(tarball)}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		// n8n refuses the whole package (all its nodes become "Unrecognized node type") when one listed file is missing.
		const installedDir = path.join(this.nodesDir, 'node_modules', name);
		const n8nSection = (JSON.parse(fs.readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as { n8n?: { nodes?: string[]; credentials?: string[] } }).n8n;
		const listed = [...(n8nSection?.nodes ?? []), ...(n8nSection?.credentials ?? [])];
		const missing = listed.filter((f) => !fs.existsSync(path.join(installedDir, f)));
		if (!n8nSection || missing.length > 0) {
			throw new Error(
				n8nSection
					? `${name}@${version}: package.json "n8n" lists file(s) missing from the tarball: ${missing.join(', ')} — n8n would refuse to load the whole package`
					: `${name}@${version}: package.json has no "n8n" section — n8n would not load it`,
			);
		}

		const sqlite3: InstallResult['sqlite3'] = [];
		for (const dir of findPackageDirs(path.join(this.nodesDir, 'node_modules'), 'sqlite3')) {
			const v = sqlite3Version(dir) ?? '?';
			const target = path.join(dir, 'build', 'Release', 'node_sqlite3.node');
			if (opts.sqlite3Binding === 'leave') {
				sqlite3.push({ dir, version: v, binding: fs.existsSync(target) ? 'present' : 'missing' });
				continue;
			}
			const resolveFrom = path.dirname(path.dirname(dir));
			if (fs.existsSync(target)) {
				verifySqlite3(this.runtime, resolveFrom);
				sqlite3.push({ dir, version: v, binding: 'present' });
				continue;
			}
			const found = findSqlite3Binding(this.runtime, v, REPO_ROOT);
			let binding: InstallResult['sqlite3'][number]['binding'] | undefined;
			if (found) {
				fs.mkdirSync(path.dirname(target), { recursive: true });
				fs.copyFileSync(found.file, target);
				try {
					verifySqlite3(this.runtime, resolveFrom);
					binding = found.source;
				} catch (err) {
					this.log(`[n8n] the ${found.source} binding of sqlite3 ${v} does not load (${(err as Error).message}); building it`);
					fs.rmSync(target, { force: true });
				}
			}
			if (!binding) {
				const tb = Date.now();
				this.log(`[n8n] building sqlite3 ${v} from source for Node ${this.runtime.nodeVersion} (~1.5 min, once: the result is cached)`);
				const rb = spawnSync(npm, ['rebuild', 'sqlite3', `--nodedir=${this.runtime.nodeDir}`, '--foreground-scripts'], {
					cwd: resolveFrom,
					env: npmEnv,
					encoding: 'utf8',
					timeout: 15 * 60_000,
				});
				this.append(`\n--- npm rebuild sqlite3 ---\n${rb.stdout ?? ''}${rb.stderr ?? ''}`);
				if (rb.status !== 0 || !fs.existsSync(target)) throw new Error(`building sqlite3 ${v} failed:\n${((rb.stdout ?? '') + (rb.stderr ?? '')).split('\n').slice(-30).join('\n')}`);
				verifySqlite3(this.runtime, resolveFrom);
				binding = 'built';
				this.log(`[n8n] sqlite3 built in ${Math.round((Date.now() - tb) / 1000)} s`);
			}
			if (binding !== 'cache') storeSqlite3Binding(this.runtime, v, target, binding);
			sqlite3.push({ dir, version: v, binding });
		}
		const ms = Date.now() - t0;
		this.timings.install = ms;
		this.log(`[n8n] installed ${name}@${version} in ${(ms / 1000).toFixed(1)} s (sqlite3: ${sqlite3.map((s) => `${s.version} ${s.binding}`).join(', ') || 'none'})`);
		return { name, version, ms, sqlite3 };
	}

	// ------------------------------------------------------------------ credentials & workflows

	/** Imports credentials given as plain data (n8n encrypts them); returns their ids. */
	async importCredentials(list: CredentialInput[]): Promise<string[]> {
		this.assertStopped('importCredentials');
		const withIds = list.map((c) => ({ ...c, id: c.id ?? n8nId() }));
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-e2e-cred-'));
		const file = path.join(dir, 'credentials.json');
		try {
			fs.writeFileSync(file, JSON.stringify(withIds), { mode: 0o600 });
			const r = await this.cli(['import:credentials', `--input=${file}`]);
			const m = /Successfully imported (\d+) credential/.exec(r.output);
			if (!m || Number(m[1]) !== withIds.length) throw new Error(`import:credentials did not import ${withIds.length} credential(s):\n${r.output}`);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
		return withIds.map((c) => c.id);
	}

	/** Imports one workflow or several (ids generated when missing; nothing else is changed); returns the ids. */
	async importWorkflow(json: WorkflowInput | WorkflowInput[]): Promise<string[]> {
		this.assertStopped('importWorkflow');
		const list = (Array.isArray(json) ? json : [json]).map((w) => ({ ...w, id: w.id ?? n8nId() }));
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-e2e-wf-'));
		const file = path.join(dir, 'workflows.json');
		try {
			fs.writeFileSync(file, JSON.stringify(list));
			await this.importWorkflowFileAsIs(file, list.length);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
		return list.map((w) => w.id);
	}

	/**
	 * Imports a workflow file (one workflow or an array), e.g. workflows/*.json. A workflow without an
	 * id gets one (in a temp copy; the file is not touched), so it can be published. Returns the ids.
	 */
	async importWorkflowFile(file: string): Promise<string[]> {
		this.assertStopped('importWorkflowFile');
		const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as WorkflowInput | WorkflowInput[];
		const list = Array.isArray(parsed) ? parsed : [parsed];
		if (list.every((w) => typeof w.id === 'string' && w.id)) {
			await this.importWorkflowFileAsIs(path.resolve(file), list.length);
			return list.map((w) => w.id as string);
		}
		return this.importWorkflow(list);
	}

	private async importWorkflowFileAsIs(file: string, expected: number): Promise<void> {
		const r = await this.cli(['import:workflow', `--input=${file}`]);
		const m = /Successfully imported (\d+) workflow/.exec(r.output);
		if (!m || Number(m[1]) !== expected) throw new Error(`import:workflow did not import ${expected} workflow(s):\n${r.output}`);
	}

	/** `n8n publish:workflow --id=<id>` (the current version); takes effect at the next start(). */
	async publish(workflowId: string): Promise<void> {
		this.assertStopped('publish');
		const r = await this.cli(['publish:workflow', `--id=${workflowId}`]);
		if (!r.output.includes(`Publishing workflow with ID: ${workflowId}`)) throw new Error(`publish:workflow --id=${workflowId}:\n${r.output}`);
	}

	// ------------------------------------------------------------------ start / stop

	/**
	 * `n8n start`; resolves when n8n is ready: it printed "Editor is now accessible", /healthz/readiness
	 * answers 200, and every published workflow is active (n8n 2.x activates published workflows in
	 * the background, through its publication outbox). A workflow that failed to activate (e.g. an
	 * unknown node type or a bad credential) makes start() throw with n8n's message, unless
	 * allowActivationErrors. If n8n exits while starting, start() throws with the end of its output.
	 */
	async start(opts: { timeoutMs?: number; allowActivationErrors?: boolean; nodeArgs?: string[] } = {}): Promise<void> {
		if (this.proc) throw new Error('n8n is already running');
		const t0 = Date.now();
		const deadline = t0 + (opts.timeoutMs ?? 180_000);
		const since = this.logMark();
		this.append(`\n--- n8n start (port ${this.port}) ---\n`);
		// nodeArgs: flags for n8n's own Node process only (e.g. --inspect), not for its task runner.
		const child = spawn(this.runtime.nodeBin, [...(opts.nodeArgs ?? []), this.runtime.n8nBin, 'start'], {
			cwd: this.userFolder,
			env: this.env,
			detached: true, // own process group: n8n + its task runner
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		if (!child.pid) throw new Error('n8n start: spawn failed');
		trackGroup(child.pid);
		this.proc = child;
		child.stdout?.on('data', (c: Buffer) => this.append(c.toString()));
		child.stderr?.on('data', (c: Buffer) => this.append(c.toString()));
		let exitInfo: string | undefined;
		this.exited = new Promise<void>((resolve) => {
			child.once('exit', (code, signal) => {
				exitInfo = signal ?? `exit ${code}`;
				this.append(`\n--- n8n start ended (${exitInfo}) ---\n`);
				resolve();
			});
		});
		const fail = async (why: string): Promise<never> => {
			const output = this.logs(since);
			await this.stop();
			const file = this.saveLogs(path.join(os.tmpdir(), `ad-e2e-n8n-start-failure-${this.port}-${Date.now()}.log`));
			throw new Error(`n8n start: ${why}\n${summarizeErrors(output)}--- last output (all of it: ${file}) ---\n${output.split('\n').slice(-40).join('\n')}`);
		};
		const check = async () => {
			if (exitInfo) await fail(`n8n exited while starting (${exitInfo})`);
			if (Date.now() > deadline) await fail(`not ready after ${Math.round((Date.now() - t0) / 1000)} s`);
		};

		while (!this.logs(since).includes('Editor is now accessible via')) {
			await check();
			await sleep(100);
		}
		while ((await httpStatus(`${this.baseUrl}/healthz/readiness`)) !== 200) {
			await check();
			await sleep(200);
		}
		if (this.env.N8N_USE_WORKFLOW_PUBLICATION_SERVICE !== 'false') {
			for (;;) {
				await check();
				const states = await this.publicationState();
				const pending = states.filter((s) => s.publishedVersionId !== s.activeVersionId && !['failed', 'partial_success'].includes(s.outboxStatus ?? ''));
				const busy = states.filter((s) => s.outboxStatus === 'pending' || s.outboxStatus === 'in_progress');
				if (pending.length === 0 && busy.length === 0) {
					const broken = states.filter((s) => s.errors.length > 0);
					if (broken.length > 0 && !opts.allowActivationErrors) {
						await fail(`workflow(s) failed to activate: ${broken.map((s) => `"${s.name}" (${s.workflowId}): ${s.errors.join('; ')}`).join(' | ')}`);
					}
					break;
				}
				await sleep(250);
			}
		}
		this.timings.start = Date.now() - t0;
		this.log(`[n8n] ready on ${this.baseUrl} in ${(this.timings.start / 1000).toFixed(1)} s`);
	}

	/** Activation state of every published workflow, read from n8n's database. */
	async publicationState(): Promise<PublicationState[]> {
		const db = this.sqlite();
		const rows = await db.all<{ id: string; name: string; activeVersionId: string; publishedVersionId: string | null }>(
			`SELECT w.id, w.name, w.activeVersionId, p.publishedVersionId
			   FROM workflow_entity w LEFT JOIN workflow_published_version p ON p.workflowId = w.id
			  WHERE w.activeVersionId IS NOT NULL`,
		);
		const out: PublicationState[] = [];
		for (const r of rows) {
			const [outbox] = await db.all<{ status: string; errorMessage: string | null }>(
				'SELECT status, errorMessage FROM workflow_publication_outbox WHERE workflowId = ? AND publishedVersionId = ? ORDER BY id DESC LIMIT 1',
				[r.id, r.activeVersionId],
			);
			const triggers = await db.all<{ nodeId: string; errorMessage: string | null }>(
				"SELECT nodeId, errorMessage FROM workflow_publication_trigger_status WHERE workflowId = ? AND versionId = ? AND status = 'failed'",
				[r.id, r.activeVersionId],
			);
			const errors = [
				...(outbox && ['failed', 'partial_success'].includes(outbox.status) ? [outbox.errorMessage ?? outbox.status] : []),
				...triggers.map((t) => `node ${t.nodeId}: ${t.errorMessage ?? 'failed'}`),
			];
			out.push({ workflowId: r.id, name: r.name, activeVersionId: r.activeVersionId, publishedVersionId: r.publishedVersionId, outboxStatus: outbox?.status ?? null, errors });
		}
		return out;
	}

	/** SIGTERM (graceful), then SIGKILL for the whole process group; returns when nothing of it is left. */
	async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
		const child = this.proc;
		if (!child || !child.pid) return;
		const pgid = child.pid;
		const t0 = Date.now();
		if (child.exitCode === null && child.signalCode === null) {
			try {
				process.kill(pgid, 'SIGTERM');
			} catch {
				// already gone
			}
			let timer: NodeJS.Timeout | undefined;
			const timedOut = await Promise.race([
				this.exited!.then(() => false),
				new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), opts.timeoutMs ?? 20_000))),
			]);
			clearTimeout(timer);
			if (timedOut) this.append('\n--- n8n did not stop on SIGTERM: SIGKILL ---\n');
		}
		for (let i = 0; groupAlive(pgid); i++) {
			try {
				process.kill(-pgid, i === 0 ? 'SIGTERM' : 'SIGKILL');
			} catch {
				break;
			}
			await sleep(i === 0 ? 1000 : 100);
			if (i > 100) throw new Error(`processes of group ${pgid} survive SIGKILL`);
		}
		await this.exited;
		liveGroups.delete(pgid);
		this.saveLogs();
		this.proc = undefined;
		this.exited = undefined;
		this.timings.stop = Date.now() - t0;
	}

	async restart(opts: { timeoutMs?: number; allowActivationErrors?: boolean } = {}): Promise<void> {
		await this.stop();
		await this.start(opts);
	}

	/** stop(), then remove the temp user folder (unless it was given, or keep / AD_E2E_KEEP=1). */
	async dispose(): Promise<void> {
		await this.stop();
		if (this.ownsFolder && !this.keep) fs.rmSync(this.userFolder, { recursive: true, force: true });
		else this.log(`[n8n] kept the user folder ${this.userFolder}`);
	}

	// ------------------------------------------------------------------ executions

	/** n8n's own SQLite database (read-only; each query opens and closes its own connection). */
	sqlite(): N8nDatabase {
		const file = path.join(this.n8nFolder, 'database.sqlite');
		const n8nDir = this.runtime.n8nDir;
		const all = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const sqlite3 = require('sqlite3') as typeof import('sqlite3');
			const db = await new Promise<import('sqlite3').Database>((resolve, reject) => {
				const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
			});
			try {
				await new Promise<void>((resolve, reject) => db.run('PRAGMA busy_timeout = 5000', (err) => (err ? reject(err) : resolve())));
				return await new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
			} finally {
				await new Promise<void>((resolve) => db.close(() => resolve()));
			}
		};
		const executions = async (filter: { workflowId?: string } = {}) => {
			const rows = await all<ExecutionRow & { finished: number | boolean }>(
				`SELECT id, workflowId, status, mode, finished, startedAt, stoppedAt FROM execution_entity
				  ${filter.workflowId ? 'WHERE workflowId = ?' : ''} ORDER BY id`,
				filter.workflowId ? [filter.workflowId] : [],
			);
			return rows.map((r) => ({ ...r, id: Number(r.id), finished: Boolean(r.finished) }));
		};
		const executionRows = async () =>
			(await all<ExecutionDataRow>('SELECT executionId, workflowData, data FROM execution_data ORDER BY executionId')).map((r) => ({ ...r, executionId: Number(r.executionId) }));
		return {
			file,
			all,
			executions,
			executionRows,
			executionData: async () => (await executionRows()).map((r) => r.data),
			execution: async (id: number) => {
				const [row] = await all<{ data: string; status: string }>(
					'SELECT d.data, e.status FROM execution_data d JOIN execution_entity e ON e.id = d.executionId WHERE d.executionId = ?',
					[id],
				);
				if (!row) throw new Error(`no execution ${id} in ${file}`);
				// eslint-disable-next-line @typescript-eslint/no-require-imports
				const flatted = require(path.join(n8nDir, 'node_modules', 'flatted')) as { parse(s: string): unknown };
				const run = flatted.parse(row.data) as {
					resultData?: { runData?: Record<string, Array<{ data?: { main?: Array<Array<{ json: unknown }> | null> } }>>; lastNodeExecuted?: string; error?: Record<string, unknown> };
				};
				const runData = run.resultData?.runData ?? {};
				const outputs: Record<string, unknown[][]> = {};
				for (const [node, tasks] of Object.entries(runData)) {
					const last = tasks[tasks.length - 1];
					outputs[node] = (last?.data?.main ?? []).map((items) => (items ?? []).map((i) => i.json));
				}
				return {
					id,
					status: row.status,
					lastNodeExecuted: run.resultData?.lastNodeExecuted ?? null,
					error: run.resultData?.error ?? null,
					outputs,
					runData,
				};
			},
		};
	}

	/**
	 * Waits until at least `count` executions (of `workflowId`, if given) have ended — status success,
	 * error, crashed, canceled or waiting — and returns them (all of them, oldest first). n8n answers a
	 * webhook before it has written the execution, so use this before reading execution data.
	 */
	async waitForExecutions(count: number, opts: { workflowId?: string; timeoutMs?: number } = {}): Promise<ExecutionRow[]> {
		const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
		const ended = new Set(['success', 'error', 'crashed', 'canceled', 'waiting']);
		for (;;) {
			const rows = await this.sqlite().executions({ workflowId: opts.workflowId });
			const done = rows.filter((r) => ended.has(r.status));
			if (done.length >= count) return done;
			if (Date.now() > deadline) {
				throw new Error(`expected ${count} finished execution(s)${opts.workflowId ? ` of ${opts.workflowId}` : ''}, found ${done.length} (all: ${JSON.stringify(rows.map((r) => [r.id, r.status]))})`);
			}
			await sleep(200);
		}
	}
}

/** n8n's error lines (and package load failures) from an output, for error messages. */
function summarizeErrors(output: string): string {
	const lines = output.split('\n').filter((l) => /\| error \||^\S.*\berror\b.*Failed|Failed to load package|Cannot find module/i.test(l));
	const unique = [...new Set(lines.map((l) => l.slice(0, 400)))].slice(0, 15);
	return unique.length ? `--- n8n errors ---\n${unique.join('\n')}\n` : '';
}

/** Directories `<root>/**\/node_modules/<name>` (hoisted and nested copies). */
function findPackageDirs(root: string, name: string): string[] {
	const found: string[] = [];
	const walk = (nm: string, depth: number) => {
		if (depth > 6 || !fs.existsSync(nm)) return;
		for (const entry of fs.readdirSync(nm)) {
			if (entry.startsWith('.')) continue;
			const full = path.join(nm, entry);
			if (entry.startsWith('@')) {
				for (const sub of fs.readdirSync(full)) walk(path.join(full, sub, 'node_modules'), depth + 1);
				continue;
			}
			if (entry === name && fs.existsSync(path.join(full, 'package.json'))) found.push(full);
			walk(path.join(full, 'node_modules'), depth + 1);
		}
	};
	walk(root, 0);
	return found;
}

