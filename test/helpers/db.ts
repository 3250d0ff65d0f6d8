/**
 * Test databases. SQLite always runs (temp files). PostgreSQL and MariaDB/MySQL use the servers
 * named by AD_TEST_PG / AD_TEST_MYSQL (defaults: the local servers on 127.0.0.1). When a server is
 * unreachable the suite fails under CI (CI=true) and is skipped elsewhere with a message saying how
 * to enable it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { KeyStore, type StoreConfig } from '../../nodes/core/store';

export type DbKind = 'sqlite' | 'postgres' | 'mysql';

const urlFrom = (v: string | undefined, dflt: string) => (v && v !== 'off' ? v : dflt);
const PG_URL = urlFrom(process.env.AD_TEST_PG, 'postgres://postgres@127.0.0.1:5432/test');
const MYSQL_URL = urlFrom(process.env.AD_TEST_MYSQL, 'mysql://root@127.0.0.1:3306/test');

function parse(url: string) {
	const u = new URL(url);
	return {
		host: u.hostname,
		port: Number(u.port),
		user: decodeURIComponent(u.username),
		password: decodeURIComponent(u.password),
		databaseName: u.pathname.replace(/^\//, ''),
	};
}

const reachableCache = new Map<DbKind, boolean>();

/** Synchronous TCP probe (jest decides what to skip while collecting tests). */
export function serverReachable(kind: DbKind): boolean {
	if (kind === 'sqlite') return true;
	const cached = reachableCache.get(kind);
	if (cached !== undefined) return cached;
	const { host, port } = parse(kind === 'postgres' ? PG_URL : MYSQL_URL);
	const script = `const s=require('net').connect(${port},${JSON.stringify(host)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),3000)`;
	const ok = spawnSync(process.execPath, ['-e', script], { timeout: 5000 }).status === 0;
	reachableCache.set(kind, ok);
	return ok;
}

/** describe() that runs on reachable servers, fails under CI when unreachable, skips elsewhere. */
export function describeDb(kind: DbKind, name: string, fn: () => void): void {
	const disabled = (kind === 'postgres' && process.env.AD_TEST_PG === 'off') || (kind === 'mysql' && process.env.AD_TEST_MYSQL === 'off');
	if (!disabled && (serverReachable(kind) || process.env.CI)) {
		describe(`${name} [${kind}]`, fn);
		return;
	}
	const how = kind === 'postgres'
		? 'start PostgreSQL on 127.0.0.1:5432 (trust auth, database "test") or set AD_TEST_PG=postgres://user:pass@host:port/db'
		: 'start MariaDB/MySQL on 127.0.0.1:3306 (root, empty password, database "test") or set AD_TEST_MYSQL=mysql://user:pass@host:port/db';
	// eslint-disable-next-line no-console
	console.warn(`Skipping "${name}" on ${kind}: ${disabled ? `disabled by ${kind === 'postgres' ? 'AD_TEST_PG' : 'AD_TEST_MYSQL'}=off` : 'server not reachable'}. To enable: ${how}.`);
	// A conditional skip (server unreachable outside CI), announced above — never a committed focus/skip.
	const skipUnreachable: jest.Describe = describe.skip;
	skipUnreachable(`${name} [${kind}] (server not reachable)`, fn);
}

let counter = 0;

/** A fresh, isolated store config: a new SQLite file, or a unique table prefix on a server. */
export function storeConfig(kind: DbKind, extra: Partial<StoreConfig> = {}): StoreConfig {
	counter++;
	const tag = `t${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}${counter}_`;
	if (kind === 'sqlite') {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-test-'));
		return { database: 'sqlite', sqlitePath: path.join(dir, 'store.sqlite'), encryptionSecret: 'test-secret-1', ...extra };
	}
	const conn = parse(kind === 'postgres' ? PG_URL : MYSQL_URL);
	return { database: kind, ...conn, encryptionSecret: 'test-secret-1', tablePrefix: tag, ...extra };
}

/** Drops the tables of a server-side test store. */
export async function dropStore(cfg: StoreConfig): Promise<void> {
	if (cfg.database === 'sqlite') {
		const dir = path.dirname(cfg.sqlitePath as string);
		fs.rmSync(dir, { recursive: true, force: true });
		return;
	}
	const { createKnexFor } = await import('../../nodes/core/store');
	const db = createKnexFor(cfg);
	try {
		const p = cfg.tablePrefix as string;
		for (const t of ['events', 'deliveries', 'keys', 'products', 'meta', 'migrations', 'migrations_lock', 'risk_log', 'risk_locks', 'blocklist', 'alerts', 'waiting', 'notices']) {
			await db.schema.dropTableIfExists(`${p}${t}`);
		}
	} finally {
		await db.destroy();
	}
}

export function makeKeys(n: number, tag = 'K'): string[] {
	const out: string[] = [];
	for (let i = 0; i < n; i++) out.push(`${tag}-${String(i).padStart(7, '0')}-${Math.random().toString(36).slice(2, 10).toUpperCase()}`);
	return out;
}

/**
 * For a describe block: opens the store before its tests (hands it to `set`, then runs `init`) and
 * closes and drops it after them.
 */
export function useStore(cfg: StoreConfig, set: (store: KeyStore) => void, init?: (store: KeyStore) => Promise<unknown>): void {
	let store: KeyStore | undefined;
	beforeAll(async () => {
		store = await KeyStore.open(cfg);
		set(store);
		await init?.(store);
	});
	afterAll(async () => {
		await store?.close();
		await dropStore(cfg);
	});
}
