/**
 * A real n8n 2.41.1 cluster in queue mode on this machine (`npm run test:scale`), started and
 * stopped process by process:
 *
 *   redis-server (our own, on a free port, append-only file in a temp dir — so it can be restarted)
 *   n8n start    main: editor/API, activates the published workflows; no production webhooks
 *                (N8N_DISABLE_PRODUCTION_MAIN_PROCESS=true)
 *   n8n webhook  the production webhooks (/webhook/…): puts executions on the queue, answers
 *   n8n worker   ×2, --concurrency=10: run the executions
 *
 * n8n's own database is a fresh PostgreSQL database; every process gets the same environment
 * (same N8N_ENCRYPTION_KEY, same Redis, same database, same user folder with the package
 * installed once), except its own ports (HTTP, task-runner broker, worker health check).
 * The CLI steps (install, import, publish) run before anything starts, like on one machine.
 *
 *   const c = await QueueCluster.create({ log });
 *   await c.setup({ tarball, credentials, workflows, publish });
 *   await c.startAll();
 *   await fetch(c.webhookUrl('auto-delivery/order-paid'), …);
 *   c.workers[0].kill();  await c.restartRedis();  …
 *   await c.dispose();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import knex, { type Knex } from 'knex';

import { createInstance, freePort, type CredentialInput, type N8nInstance, type WorkflowInput } from '../e2e/n8nInstance';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };
export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

/** Creates (fresh) a database on the local PostgreSQL or MariaDB; returns a function that drops it. */
export async function freshDatabase(kind: 'postgres' | 'mysql', name: string): Promise<() => Promise<void>> {
	const admin = (): Knex =>
		kind === 'postgres'
			? knex({ client: 'pg', connection: { ...PG, database: 'postgres' }, pool: { min: 0, max: 1 } })
			: knex({ client: 'mysql2', connection: { ...MYSQL }, pool: { min: 0, max: 1 } });
	const run = async (sqls: string[]) => {
		const db = admin();
		try {
			for (const sql of sqls) await db.raw(sql);
		} finally {
			await db.destroy();
		}
	};
	const q = kind === 'postgres' ? `"${name}"` : `\`${name}\``;
	await run([`DROP DATABASE IF EXISTS ${q}`, `CREATE DATABASE ${q}`]);
	return () => run([kind === 'postgres' ? `DROP DATABASE IF EXISTS ${q} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${q}`]);
}

// ---------------------------------------------------------------------------------------------
// One OS process of the cluster

export class ClusterProcess {
	private proc: ChildProcess | undefined;
	private exited: Promise<void> | undefined;
	private readonly output: string[] = [];
	/** Exit of the last run: signal name or `exit <code>`. */
	lastExit: string | undefined;

	constructor(
		readonly name: string,
		private readonly cmd: string,
		private readonly args: string[],
		private readonly env: Record<string, string>,
		private readonly cwd: string,
		readonly logFile: string,
	) {}

	get pid(): number | undefined {
		return this.proc?.pid;
	}

	get running(): boolean {
		return this.proc !== undefined && this.lastExit === undefined;
	}

	logs(since = 0): string {
		return this.output.slice(since).join('');
	}

	logMark(): number {
		return this.output.length;
	}

	start(): void {
		if (this.running) throw new Error(`${this.name} is already running`);
		this.lastExit = undefined;
		this.output.push(`\n--- ${this.name}: ${path.basename(this.cmd)} ${this.args.map((a) => path.basename(a)).join(' ')} ---\n`);
		const child = spawn(this.cmd, this.args, { cwd: this.cwd, env: this.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		if (!child.pid) throw new Error(`${this.name}: spawn failed`);
		LIVE.add(child.pid);
		this.proc = child;
		const onData = (c: Buffer) => {
			const s = stripAnsi(c.toString());
			this.output.push(s);
			fs.appendFileSync(this.logFile, s);
		};
		child.stdout?.on('data', onData);
		child.stderr?.on('data', onData);
		this.exited = new Promise<void>((resolve) => {
			child.once('exit', (code, signal) => {
				this.lastExit = signal ?? `exit ${code}`;
				this.output.push(`\n--- ${this.name} ended (${this.lastExit}) ---\n`);
				resolve();
			});
		});
	}

	async waitForLog(pattern: RegExp, opts: { since?: number; timeoutMs?: number } = {}): Promise<void> {
		const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
		while (!pattern.test(this.logs(opts.since ?? 0))) {
			if (this.lastExit !== undefined) throw new Error(`${this.name} exited (${this.lastExit}) before printing ${pattern}:\n${this.tail()}`);
			if (Date.now() > deadline) throw new Error(`${this.name} never printed ${pattern}:\n${this.tail()}`);
			await sleep(100);
		}
	}

	tail(lines = 40): string {
		return this.logs().split('\n').slice(-lines).join('\n');
	}

	/** SIGKILL to the whole process group (n8n and its task runner), no grace: a crash. */
	async kill(): Promise<void> {
		const pid = this.proc?.pid;
		if (!pid || this.lastExit !== undefined) return;
		signalGroup(pid, 'SIGKILL');
		await this.exited;
		await waitGroupGone(pid);
		LIVE.delete(pid);
		this.proc = undefined;
	}

	/** SIGTERM (graceful, up to `graceMs`), then SIGKILL of the group. */
	async stop(graceMs = 20_000): Promise<void> {
		const pid = this.proc?.pid;
		if (!pid) return;
		if (this.lastExit === undefined) {
			signalGroup(pid, 'SIGTERM');
			const timedOut = await Promise.race([this.exited!.then(() => false), sleep(graceMs).then(() => true)]);
			if (timedOut) this.output.push(`\n--- ${this.name} did not stop on SIGTERM: SIGKILL ---\n`);
		}
		signalGroup(pid, 'SIGKILL');
		await this.exited;
		await waitGroupGone(pid);
		LIVE.delete(pid);
		this.proc = undefined;
	}
}

const LIVE = new Set<number>();
process.once('exit', () => {
	for (const pid of LIVE) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// gone
	}
}

async function waitGroupGone(pgid: number): Promise<void> {
	for (let i = 0; i < 200; i++) {
		try {
			process.kill(-pgid, 0);
		} catch {
			return;
		}
		await sleep(50);
	}
	throw new Error(`process group ${pgid} survives SIGKILL`);
}

async function httpOk(url: string): Promise<boolean> {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
		await res.text();
		return res.status === 200;
	} catch {
		return false;
	}
}

function tcpOpen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.once('connect', () => {
			s.destroy();
			resolve(true);
		});
		s.once('error', () => resolve(false));
	});
}

// ---------------------------------------------------------------------------------------------
// The cluster

export interface ClusterOptions {
	log?: (line: string) => void;
	/** Workers (default 2) and their --concurrency (default 10). */
	workers?: number;
	concurrency?: number;
	/** Extra environment for every n8n process. */
	env?: Record<string, string>;
}

export class QueueCluster {
	readonly redis: ClusterProcess;
	readonly main: ClusterProcess;
	readonly webhook: ClusterProcess;
	readonly workers: ClusterProcess[];
	/** Folder of every log file, the Redis data and the n8n user folder. */
	readonly dir: string;
	private dropN8nDb: (() => Promise<void>) | undefined;

	private constructor(
		readonly instance: N8nInstance,
		readonly n8nDatabase: string,
		readonly ports: { main: number; webhook: number; redis: number; health: number[] },
		processes: { redis: ClusterProcess; main: ClusterProcess; webhook: ClusterProcess; workers: ClusterProcess[] },
		dir: string,
		private readonly log: (line: string) => void,
	) {
		this.redis = processes.redis;
		this.main = processes.main;
		this.webhook = processes.webhook;
		this.workers = processes.workers;
		this.dir = dir;
	}

	static async create(opts: ClusterOptions = {}): Promise<QueueCluster> {
		const log = opts.log ?? (() => undefined);
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-scale-'));
		const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;
		const n8nDatabase = `ad_scale_n8n_${tag}`;
		const taken = new Set<number>();
		const port = async () => {
			let p = await freePort();
			while (taken.has(p)) p = await freePort();
			taken.add(p);
			return p;
		};
		const ports = { main: await port(), webhook: await port(), redis: await port(), health: [] as number[] };
		const workerCount = opts.workers ?? 2;
		for (let i = 0; i < workerCount; i++) ports.health.push(await port());
		const queueEnv: Record<string, string> = {
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: PG.host,
			DB_POSTGRESDB_PORT: String(PG.port),
			DB_POSTGRESDB_DATABASE: n8nDatabase,
			DB_POSTGRESDB_USER: PG.user,
			DB_POSTGRESDB_PASSWORD: PG.password,
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(ports.redis),
			QUEUE_BULL_PREFIX: `adscale${tag}`,
			// The main process serves the editor and activates workflows; production webhooks go to `n8n webhook`.
			N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
			WEBHOOK_URL: `http://127.0.0.1:${ports.webhook}/`,
			N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true',
			...(opts.env ?? {}),
		};
		const instance = await createInstance({ userFolder: path.join(dir, 'user'), port: ports.main, env: queueEnv, log, keep: true });
		const dropN8nDb = await freshDatabase('postgres', n8nDatabase);
		const base = instance.environment;
		const rt = instance.runtime;
		const n8nProc = async (name: string, args: string[], extra: Record<string, string>) =>
			new ClusterProcess(name, rt.nodeBin, [rt.n8nBin, ...args], { ...base, N8N_RUNNERS_BROKER_PORT: String(await port()), ...extra }, instance.userFolder, path.join(dir, `${name}.log`));
		const redisDir = path.join(dir, 'redis');
		fs.mkdirSync(redisDir);
		const redis = new ClusterProcess(
			'redis',
			'redis-server',
			['--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'yes'],
			{ ...process.env } as Record<string, string>,
			redisDir,
			path.join(dir, 'redis.log'),
		);
		const main = await n8nProc('main', ['start'], { N8N_PORT: String(ports.main) });
		const webhook = await n8nProc('webhook', ['webhook'], { N8N_PORT: String(ports.webhook) });
		const workers: ClusterProcess[] = [];
		for (let i = 0; i < workerCount; i++) {
			workers.push(
				await n8nProc(`worker${i + 1}`, ['worker', `--concurrency=${opts.concurrency ?? 10}`], {
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(ports.health[i]),
					N8N_PORT: String(ports.health[i]),
				}),
			);
		}
		const c = new QueueCluster(instance, n8nDatabase, ports, { redis, main, webhook, workers }, dir, log);
		c.dropN8nDb = dropN8nDb;
		return c;
	}

	webhookUrl(p: string): string {
		return `http://127.0.0.1:${this.ports.webhook}/webhook/${p.replace(/^\//, '')}`;
	}

	/** The CLI steps, before n8n starts (they write n8n's PostgreSQL database); Redis first. */
	async setup(o: { tarball: string; credentials: CredentialInput[]; workflows: WorkflowInput[]; publish: string[] }): Promise<void> {
		// In queue mode every n8n command connects to Redis (and exits when it cannot for 10 s), the CLI too.
		if (!this.redis.running) await this.startRedis();
		await this.instance.installPackage(o.tarball);
		await this.instance.importCredentials(o.credentials);
		await this.instance.importWorkflow(o.workflows);
		for (const id of o.publish) await this.instance.publish(id);
	}

	async startRedis(): Promise<void> {
		this.redis.start();
		for (const deadline = Date.now() + 20_000; !(await tcpOpen(this.ports.redis)); ) {
			if (Date.now() > deadline || !this.redis.running) throw new Error(`redis did not start:\n${this.redis.tail()}`);
			await sleep(50);
		}
	}

	/** Redis goes down (SIGKILL: no goodbye to the clients) and comes back on the same port with its append-only file. */
	async restartRedis(downMs = 1500): Promise<void> {
		await this.redis.kill();
		await sleep(downMs);
		await this.startRedis();
	}

	async startMain(): Promise<void> {
		const t0 = Date.now();
		this.main.start();
		await this.main.waitForLog(/Editor is now accessible via/, { timeoutMs: 180_000 });
		for (const deadline = Date.now() + 60_000; !(await httpOk(`http://127.0.0.1:${this.ports.main}/healthz/readiness`)); ) {
			if (Date.now() > deadline) throw new Error(`main not ready:\n${this.main.tail()}`);
			await sleep(200);
		}
		this.log(`[scale] main ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}

	async startWorker(i: number): Promise<void> {
		const t0 = Date.now();
		const w = this.workers[i];
		w.start();
		for (const deadline = Date.now() + 180_000; !(await httpOk(`http://127.0.0.1:${this.ports.health[i]}/healthz/readiness`)); ) {
			if (!w.running) throw new Error(`${w.name} exited while starting:\n${w.tail()}`);
			if (Date.now() > deadline) throw new Error(`${w.name} not ready:\n${w.tail()}`);
			await sleep(200);
		}
		this.log(`[scale] ${w.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}

	/** The webhook process is ready when it answers the registered production webhooks (`paths`, via HEAD-less probe: 404 ≠ registered). */
	async startWebhook(probe: string): Promise<void> {
		const t0 = Date.now();
		this.webhook.start();
		for (const deadline = Date.now() + 180_000; ; ) {
			if (!this.webhook.running) throw new Error(`webhook process exited while starting:\n${this.webhook.tail()}`);
			let status = 0;
			try {
				// An unsigned, empty POST: Shop Webhook answers 401/415 without starting anything once the path is registered.
				const res = await fetch(this.webhookUrl(probe), { method: 'POST', signal: AbortSignal.timeout(3000) });
				await res.text();
				status = res.status;
			} catch {
				status = 0;
			}
			if (status >= 400 && status < 500 && status !== 404) break;
			if (Date.now() > deadline) throw new Error(`webhook process does not serve ${probe} (last status ${status}):\n${this.webhook.tail()}`);
			await sleep(300);
		}
		this.log(`[scale] webhook process serves /webhook/${probe} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}

	/** Redis, main (activates the workflows), the workers, the webhook process. */
	async startAll(probe: string): Promise<void> {
		if (!this.redis.running) await this.startRedis();
		await this.startMain();
		await Promise.all(this.workers.map((_, i) => this.startWorker(i)));
		await this.startWebhook(probe);
	}

	/** n8n's PostgreSQL database (read-only use by the test). */
	n8nDb(): Knex {
		return knex({ client: 'pg', connection: { ...PG, database: this.n8nDatabase }, pool: { min: 0, max: 2 } });
	}

	/** Every process's log (files under `dir`). */
	logFiles(): string[] {
		return [this.redis, this.main, this.webhook, ...this.workers].map((p) => p.logFile).filter((f) => fs.existsSync(f));
	}

	async stopAll(): Promise<void> {
		await this.webhook.stop();
		await Promise.all(this.workers.map((w) => w.stop()));
		await this.main.stop();
		await this.redis.stop(5000);
	}

	/** Stops everything, drops n8n's database, removes the folder (unless AD_E2E_KEEP=1). */
	async dispose(): Promise<void> {
		await this.stopAll().catch(() => undefined);
		await this.dropN8nDb?.().catch(() => undefined);
		if (process.env.AD_E2E_KEEP === '1') this.log(`[scale] kept ${this.dir}`);
		else fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

/** The n8n binary-data folder and everything else under the shared user folder, as text, for secret scans. */
export function filesUnder(dir: string): string[] {
	const out: string[] = [];
	const walk = (d: string) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const full = path.join(d, e.name);
			if (e.isDirectory()) {
				if (e.name === 'node_modules') continue;
				walk(full);
			} else if (e.isFile()) out.push(full);
		}
	};
	if (fs.existsSync(dir)) walk(dir);
	return out;
}

/** Every Redis key with its value (strings, lists, hashes, sets, zsets, streams) as text, for secret scans: two pipelined redis-cli runs. */
export function redisDump(port: number): string {
	const cli = (args: string[], input?: string) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', input, maxBuffer: 512 * 1024 * 1024 }).stdout ?? '';
	const keys = cli(['--scan']).split('\n').filter(Boolean);
	const quote = (k: string) => `"${k.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
	const types = cli([], keys.map((k) => `TYPE ${quote(k)}`).join('\n')).split('\n');
	const read: Record<string, string> = { string: 'GET %', list: 'LRANGE % 0 -1', hash: 'HGETALL %', set: 'SMEMBERS %', zset: 'ZRANGE % 0 -1', stream: 'XRANGE % - +' };
	const cmds = keys.map((k, i) => read[(types[i] ?? '').trim()]?.replace('%', quote(k))).filter((c): c is string => Boolean(c));
	return `${keys.length} keys\n${keys.join('\n')}\n${cli([], cmds.join('\n'))}`;
}
