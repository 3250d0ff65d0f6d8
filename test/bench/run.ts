/**
 * Key store benchmark (`npm run bench`).
 *
 * 1. Import: KeyStore.importKeys of N generated keys in a forked child process (peak RSS of the
 *    import alone), lazily generated; plus, for the largest size, the same keys passed as one
 *    string[] (what the Key Pool node passes after parsing a file).
 * 2. Claim: KeyStore.claim({ orderId, sku, quantity: 1, strategy }) with unique order ids, against a raw
 *    single-statement claim (UPDATE … WHERE id IN (SELECT … ORDER BY seq, id LIMIT 1 [FOR UPDATE
 *    SKIP LOCKED]) RETURNING id, secret) on a copy of the store's keys table (same columns, same
 *    indexes, same rows) in the same database, through the same knex instance / pool (internals(store).db).
 *    Random strategy: the raw claim starts at a random point of the rand index (ORDER BY rand, id,
 *    wrapping around). MySQL/MariaDB has no UPDATE … RETURNING: its raw claim is the textbook
 *    transaction — SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED, UPDATE by id, COMMIT (sequential); for
 *    random, the candidate is read without a lock and then locked by id (the one-statement locking
 *    scan from a random point locks rows by the thousand under concurrency, issue point 8).
 *    Strategies: sequential on SQLite and PostgreSQL, sequential and random on MySQL/MariaDB
 *    (BENCH_STRATEGIES=sequential,random for every database); a pool running low between
 *    strategies is refilled (assigned keys made available again, in ours and raw alike).
 *    Each cell runs ours and raw in ABBA order (ours, raw, raw, ours; half the claims each) after
 *    a warm-up, and the pool sizes of one database are interleaved the same way (10k, 1M, 1M, 10k),
 *    so drift (the machine, WAL growth, autovacuum, page cache) hits both sides and both sizes alike.
 * 3. Diagnostics: statements per claim and where the time goes, and the pick query plans.
 *
 * Env: BENCH_DBS=sqlite,postgres,mysql  BENCH_SIZES=10000,1000000  BENCH_QUICK=1 (smoke sizes)
 *      BENCH_ARRAY=0 (skip the string[] import variant)  BENCH_INPUTS=array,lines (extra import inputs)  BENCH_PG=postgres://user@host:port/db
 *      BENCH_MYSQL=mysql://user@host:port/db  BENCH_STRATEGIES=sequential,random (default: per database, see 2.)
 *      BENCH_CLAIMS_1 / BENCH_CLAIMS_32 (claims per cell)  BENCH_WARMUP (claims per side)
 *      BENCH_CHILD_NODE_ARGS='--max-old-space-size=256' (node flags for the import child)
 *      BENCH_PARTS=import (imports only)  BENCH_CORE=<dir> (bench a copy of nodes/core; BENCH_CORE_LABEL describes it)
 */
import { fork } from 'child_process';
import { randomInt } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as ts from 'typescript';

import type * as ConnectionModule from '../../nodes/core/store';
import type { StoreConfig } from '../../nodes/core/store';
import type * as KeyStoreModule from '../../nodes/core/store';
import type * as InternalsModule from '../../nodes/core/store/internals';
import type { ImportJob, ImportReport } from './importChild';
import { timeStatements } from './instrument';

type Db = 'sqlite' | 'postgres' | 'mysql';
type Strategy = 'sequential' | 'random';

const ROOT = path.resolve(__dirname, '..', '..');
/**
 * The core under test: the repo's nodes/core, or (BENCH_CORE=/path/to/copy/nodes/core) a scratch
 * copy to try a change. A copy outside the repo needs a node_modules link next to it, e.g.
 * /tmp/exp/nodes/core + /tmp/exp/node_modules -> <repo>/node_modules.
 */
const CORE = process.env.BENCH_CORE ? path.resolve(process.env.BENCH_CORE) : path.join(ROOT, 'nodes', 'core');
/**
 * The store modules of that core: `store/` (the domain layout), or the flat files of a core copied
 * from before the cut by domain (KeyStore.ts, connection.ts at the top; `db`/`t` public on the
 * store), so one run can bench the previous commit's core side by side with this one.
 */
const LAYOUT_BY_DOMAIN = fs.existsSync(path.join(CORE, 'store'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const storeModule = require(LAYOUT_BY_DOMAIN ? path.join(CORE, 'store') : path.join(CORE, 'KeyStore')) as typeof KeyStoreModule;
const { KeyStore } = storeModule;
type KeyStore = KeyStoreModule.KeyStore;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createKnexFor } = (LAYOUT_BY_DOMAIN ? storeModule : require(path.join(CORE, 'connection'))) as typeof ConnectionModule;
const internals: typeof InternalsModule.internals = LAYOUT_BY_DOMAIN
	? // eslint-disable-next-line @typescript-eslint/no-require-imports
		(require(path.join(CORE, 'store', 'internals')) as typeof InternalsModule).internals
	: (store) => store as unknown as ReturnType<typeof InternalsModule.internals>;
const QUICK = process.env.BENCH_QUICK === '1';
const DBS = (process.env.BENCH_DBS ?? 'sqlite,postgres,mysql')
	.split(',')
	.map((s) => s.trim().toLowerCase())
	.filter(Boolean)
	.map((s) => (s === 'pg' ? 'postgres' : s === 'mariadb' ? 'mysql' : s)) as Db[];
const STRATEGIES_ENV = process.env.BENCH_STRATEGIES?.split(',').map((s) => s.trim()).filter((s): s is Strategy => s === 'sequential' || s === 'random');
/** Pick strategies benched per database. */
const strategiesFor = (db: Db): Strategy[] => (STRATEGIES_ENV?.length ? STRATEGIES_ENV : db === 'mysql' ? ['sequential', 'random'] : ['sequential']);
/** The DB column of the result tables: the database, and the strategy when it is not sequential. */
const dbLabel = (db: Db, strategy: Strategy) => (strategy === 'sequential' ? db : `${db} (${strategy})`);
const RAND_MAX = 2147483647;
const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? '2000,20000' : '10000,1000000'))
	.split(',')
	.map((s) => Number(s.trim()))
	.filter((n) => Number.isInteger(n) && n > 0)
	.sort((a, b) => a - b);
const IN_FLIGHT = [1, 32];
const CLAIMS: Record<number, number> = {
	1: Number(process.env.BENCH_CLAIMS_1 ?? (QUICK ? 200 : 2000)),
	32: Number(process.env.BENCH_CLAIMS_32 ?? (QUICK ? 400 : 4000)),
};
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 20 : 300));
/** Extra import inputs at the largest size: 'lines' (the file through readKeys, as the Key Pool node does), 'array' (file parsed to one string[]). */
const INPUT_VARIANTS = (process.env.BENCH_ARRAY === '0' ? '' : process.env.BENCH_INPUTS ?? 'lines,array')
	.split(',')
	.map((s) => s.trim())
	.filter((s): s is 'array' | 'lines' => s === 'array' || s === 'lines');
const inputLabel = (m: string) => (m === 'array' ? 'string[]' : m === 'lines' ? 'file via readKeys (Key Pool node)' : 'generator');
/** BENCH_PARTS=import: only the imports (no claim cells); default claim,import. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'claim,import').split(',').map((s) => s.trim()));
const PROFILE_CLAIMS = QUICK ? 50 : 300;
const PG_URL = process.env.BENCH_PG ?? (process.env.AD_TEST_PG && process.env.AD_TEST_PG !== 'off' ? process.env.AD_TEST_PG : 'postgres://postgres@127.0.0.1:5432/test');
const MYSQL_URL = process.env.BENCH_MYSQL ?? (process.env.AD_TEST_MYSQL && process.env.AD_TEST_MYSQL !== 'off' ? process.env.AD_TEST_MYSQL : 'mysql://root@127.0.0.1:3306/test');
const SECRET = 'bench-encryption-secret';
const SKU = 'BENCH-SKU';

// Targets
const T_CLAIM_RATIO = 0.5; // ours ≥ 0.5 × raw
const T_SCALE = 0.8; // rate at the largest pool within 20 % of the smallest
const T_IMPORT_SECONDS_PER_MILLION = 20;
const T_IMPORT_RSS_MB = 400;

const MB = 1024 * 1024;
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const sizeLabel = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const pf = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const log = (...a: unknown[]) => console.error('[bench]', ...a); // progress → stderr, results → stdout
const out = (s = '') => console.log(s);

function table(head: string[], rows: Array<Array<string | number>>): string {
	const lines = [`| ${head.join(' | ')} |`, `|${head.map((h) => (/^(DB|input|statement|target)/i.test(h) ? ' --- ' : ' ---: ')).join('|')}|`];
	for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
	return lines.join('\n');
}

// ---------------------------------------------------------------- configs

function pgConn() {
	const u = new URL(PG_URL);
	return {
		host: u.hostname,
		port: Number(u.port || 5432),
		user: decodeURIComponent(u.username || 'postgres'),
		password: decodeURIComponent(u.password),
		databaseName: u.pathname.replace(/^\//, '') || 'postgres',
	};
}

function mysqlConn() {
	const u = new URL(MYSQL_URL);
	return {
		host: u.hostname,
		port: Number(u.port || 3306),
		user: decodeURIComponent(u.username || 'root'),
		password: decodeURIComponent(u.password),
		databaseName: u.pathname.replace(/^\//, '') || 'test',
	};
}

const STORE_TABLES = ['events', 'deliveries', 'keys', 'raw_keys', 'products', 'meta', 'migrations', 'migrations_lock', 'risk_log', 'risk_locks', 'blocklist', 'alerts'];

class Target {
	readonly cfg: StoreConfig;
	private readonly dir?: string;

	constructor(readonly db: Db, readonly tag: string) {
		if (db === 'sqlite') {
			this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-bench-'));
			this.cfg = { database: 'sqlite', sqlitePath: path.join(this.dir, 'store.sqlite'), encryptionSecret: SECRET, tablePrefix: 'bench_' };
		} else if (db === 'mysql') {
			this.cfg = { database: 'mysql', ...mysqlConn(), encryptionSecret: SECRET, tablePrefix: `bench_${tag}_` };
		} else {
			this.cfg = { database: 'postgres', ...pgConn(), encryptionSecret: SECRET, tablePrefix: `bench_${tag}_` };
		}
	}

	get prefix(): string {
		return this.cfg.tablePrefix as string;
	}

	async drop(): Promise<void> {
		if (this.dir) {
			fs.rmSync(this.dir, { recursive: true, force: true });
			return;
		}
		const k = createKnexFor(this.cfg);
		try {
			if (this.db === 'mysql') await k.raw(`DROP TABLE IF EXISTS ${STORE_TABLES.map((t) => `\`${this.prefix}${t}\``).join(', ')}`);
			else await k.raw(`DROP TABLE IF EXISTS ${STORE_TABLES.map((t) => `"${this.prefix}${t}"`).join(', ')} CASCADE`);
		} finally {
			await k.destroy();
		}
	}
}

// ---------------------------------------------------------------- import child

let childJs: string | undefined;

/** Transpiles nodes/core and the child to plain JS in a temp dir (no ts-node in the child). */
function buildChild(): string {
	if (childJs) return childJs;
	const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-bench-js-'));
	const files: string[] = [];
	const walk = (d: string) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, e.name);
			if (e.isDirectory()) walk(p);
			else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(p);
		}
	};
	walk(CORE);
	const benchFiles = ['importChild.ts', 'instrument.ts'].map((f) => path.join(ROOT, 'test', 'bench', f));
	for (const f of [...files, ...benchFiles]) {
		const js = ts.transpileModule(fs.readFileSync(f, 'utf8'), {
			fileName: f,
			compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2021, esModuleInterop: true },
		}).outputText;
		const rel = f.startsWith(CORE + path.sep) ? path.join('nodes', 'core', path.relative(CORE, f)) : path.relative(ROOT, f);
		const dest = path.join(outRoot, rel).replace(/\.ts$/, '.js');
		fs.mkdirSync(path.dirname(dest), { recursive: true });
		fs.writeFileSync(dest, js);
	}
	if (!LAYOUT_BY_DOMAIN) {
		// A flat core from before the cut: the child's `nodes/core/store` and `nodes/core/keyfiles` are its KeyStore and parse.
		fs.writeFileSync(path.join(outRoot, 'nodes', 'core', 'store.js'), "module.exports = require('./KeyStore');\n");
		fs.writeFileSync(path.join(outRoot, 'nodes', 'core', 'keyfiles.js'), "module.exports = require('./parse');\n");
	}
	childJs = path.join(outRoot, 'test', 'bench', 'importChild.js');
	process.on('exit', () => fs.rmSync(outRoot, { recursive: true, force: true }));
	return childJs;
}

function runImportChild(job: ImportJob): Promise<ImportReport> {
	const script = buildChild();
	return new Promise((resolve, reject) => {
		const child = fork(script, [], {
			execArgv: (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean),
			env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), BENCH_IMPORT_JOB: JSON.stringify(job) },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		let report: ImportReport | undefined;
		let error: string | undefined;
		child.on('message', (m: ImportReport | { ok: false; error: string }) => {
			if (m.ok) report = m;
			else error = m.error;
		});
		child.on('error', reject);
		child.on('exit', (code) => {
			if (report) resolve(report);
			else reject(new Error(`import child failed (exit ${code}): ${error ?? 'no report'}`));
		});
	});
}

// ---------------------------------------------------------------- claims

interface Lap {
	ms: number;
	lat: number[];
}

async function lanes(n: number, inFlight: number, op: () => Promise<void>): Promise<Lap> {
	const lat: number[] = [];
	let left = n;
	const t0 = performance.now();
	const lane = async () => {
		while (left > 0) {
			left--;
			const s = performance.now();
			await op();
			lat.push(performance.now() - s);
		}
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
	return { ms: performance.now() - t0, lat };
}

function pct(xs: number[], p: number): number {
	if (!xs.length) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

let orderCounter = 0;
let rawDeliveryCounter = 0;
const RUN_TAG = Date.now().toString(36);

function oursOp(store: KeyStore, strategy: Strategy = 'sequential'): () => Promise<void> {
	return async () => {
		const r = await store.claim({ orderId: `bench-${RUN_TAG}-${++orderCounter}`, sku: SKU, quantity: 1, strategy });
		if (!r.delivered || r.alreadyDelivered || r.delivery.keys.length !== 1) throw new Error(`claim did not deliver one new key: ${JSON.stringify(r)}`);
	};
}

function rawSql(store: KeyStore, rawTable: string, where = '1 = 1', order = 'seq, id'): string {
	const lock = store.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
	return `UPDATE "${rawTable}" SET status = 'assigned', delivery_id = ? WHERE id IN (SELECT id FROM "${rawTable}" WHERE sku = ? AND status = 'available' AND ${where} ORDER BY ${order} LIMIT 1${lock}) RETURNING id, secret`;
}

function rawOp(store: KeyStore, rawTable: string, strategy: Strategy = 'sequential'): () => Promise<void> {
	if (store.kind === 'mysql') return rawMysqlOp(store, rawTable, strategy);
	if (strategy === 'random') {
		// from a random point of the rand index, wrapping around
		const from = rawSql(store, rawTable, 'rand >= ?', 'rand, id');
		const wrap = rawSql(store, rawTable, 'rand < ?', 'rand, id');
		return async () => {
			const r = randomInt(0, RAND_MAX);
			let rows: Array<{ id: number; secret: string }> = [];
			for (const sql of [from, wrap]) {
				const res = await internals(store).db.raw(sql, [++rawDeliveryCounter, SKU, r]);
				rows = (store.kind === 'postgres' ? res.rows : res) as Array<{ id: number; secret: string }>;
				if (rows.length) break;
			}
			if (rows.length !== 1) throw new Error(`raw claim returned ${rows.length} rows`);
		};
	}
	const sql = rawSql(store, rawTable);
	return async () => {
		const res = await internals(store).db.raw(sql, [++rawDeliveryCounter, SKU]);
		const rows = (store.kind === 'postgres' ? res.rows : res) as Array<{ id: number; secret: string }>;
		if (rows.length !== 1) throw new Error(`raw claim returned ${rows.length} rows`);
	};
}

/**
 * MySQL/MariaDB raw claim (no UPDATE … RETURNING): one READ COMMITTED transaction. Sequential:
 * SELECT … ORDER BY seq, id LIMIT 1 FOR UPDATE SKIP LOCKED, UPDATE by id. Random: the candidate at
 * a random point of the rand index read without a lock (wrapping around), locked by id (SKIP
 * LOCKED; a taken one means a new random point), UPDATE by id.
 */
function rawMysqlOp(store: KeyStore, rawTable: string, strategy: Strategy): () => Promise<void> {
	const seqSql = `SELECT id, secret FROM \`${rawTable}\` WHERE sku = ? AND status = 'available' ORDER BY seq, id LIMIT 1 FOR UPDATE SKIP LOCKED`;
	const candSql = (where: string) => `SELECT id FROM \`${rawTable}\` WHERE sku = ? AND status = 'available' AND ${where} ORDER BY rand, id LIMIT 1`;
	const lockSql = `SELECT id, secret FROM \`${rawTable}\` WHERE id = ? AND status = 'available' FOR UPDATE SKIP LOCKED`;
	const updateSql = `UPDATE \`${rawTable}\` SET status = 'assigned', delivery_id = ? WHERE id = ?`;
	return async () => {
		await internals(store).db.transaction(async (trx) => {
			let row: { id: number; secret: string } | undefined;
			if (strategy === 'sequential') {
				[[row]] = (await trx.raw(seqSql, [SKU])) as [Array<{ id: number; secret: string }>];
			} else {
				for (let attempt = 0; !row && attempt < 20; attempt++) {
					const r = randomInt(0, RAND_MAX);
					let [cand] = (await trx.raw(candSql('rand >= ?'), [SKU, r])) as [Array<{ id: number }>];
					if (!cand.length) [cand] = (await trx.raw(candSql('rand < ?'), [SKU, r])) as [Array<{ id: number }>];
					if (!cand.length) break;
					[[row]] = (await trx.raw(lockSql, [cand[0].id])) as [Array<{ id: number; secret: string }>];
				}
			}
			if (!row) throw new Error('raw claim found no key');
			await trx.raw(updateSql, [++rawDeliveryCounter, row.id]);
		}, { isolationLevel: 'read committed' });
	};
}

/** Makes the assigned keys of ours and raw available again (between strategies, when a pool runs low). */
async function refill(o: OpenStore): Promise<void> {
	for (const table of [internals(o.store).t.keys, o.raw]) {
		await internals(o.store).db(table).where({ sku: SKU, status: 'assigned' }).update({ status: 'available', delivery_id: null, assigned_at: null });
	}
	await settle(o.store);
}

/** mysql2 driver calls timed like timeStatements (instrument.ts) does for sqlite3 and pg. */
function timeMysqlStatements(onDone: (sql: string, ms: number) => void): () => void {
	// the class in mysql2's prototype chain that defines query (BaseConnection in mysql2 3.x)
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	let proto = require('mysql2').Connection.prototype as Record<string, unknown>;
	while (proto && !Object.prototype.hasOwnProperty.call(proto, 'query')) proto = Object.getPrototypeOf(proto) as Record<string, unknown>;
	const orig = proto.query as (this: unknown, ...args: unknown[]) => unknown;
	proto.query = function (this: unknown, ...args: unknown[]) {
		const t = performance.now();
		const a0 = args[0] as string | { sql?: string };
		const sql = typeof a0 === 'string' ? a0 : String(a0?.sql ?? a0);
		const last = args.length - 1;
		if (last >= 0 && typeof args[last] === 'function') {
			const cb = args[last] as (...r: unknown[]) => unknown;
			args[last] = function (this: unknown, ...r: unknown[]) {
				onDone(sql, performance.now() - t);
				return cb.apply(this, r);
			};
		}
		return orig.apply(this, args);
	};
	return () => {
		proto.query = orig;
	};
}

/** Copies the store's keys table: same columns and indexes (DDL taken from the database itself), same rows. */
async function makeRawTable(store: KeyStore): Promise<{ raw: string; indexes: { ours: string[]; raw: string[] } }> {
	const keys = internals(store).t.keys;
	const raw = keys.replace(/keys$/, 'raw_keys');
	const db = internals(store).db;
	if (store.kind === 'sqlite') {
		const ddl = (await db.raw(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC`, [keys])) as Array<{ type: string; name: string; sql: string }>;
		const esc = keys.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
		for (const d of ddl) await db.raw(d.sql.replace(new RegExp(`\\b${esc}`, 'g'), raw));
		await db.raw(`INSERT INTO "${raw}" SELECT * FROM "${keys}"`);
	} else if (store.kind === 'mysql') {
		await db.raw('CREATE TABLE ?? LIKE ??', [raw, keys]);
		await db.raw('INSERT INTO ?? SELECT * FROM ??', [raw, keys]);
		await db.raw('ANALYZE TABLE ??', [keys]);
		await db.raw('ANALYZE TABLE ??', [raw]);
	} else {
		await db.raw(`CREATE TABLE "${raw}" (LIKE "${keys}" INCLUDING ALL)`);
		await db.raw(`INSERT INTO "${raw}" SELECT * FROM "${keys}"`);
		await db.raw(`VACUUM ANALYZE "${keys}"`);
		await db.raw(`VACUUM ANALYZE "${raw}"`);
	}
	await settle(store);
	return { raw, indexes: { ours: await indexList(store, keys), raw: await indexList(store, raw) } };
}

/** Flushes what the bulk setup left behind (WAL, dirty pages) so it does not slow the first cells. */
async function settle(store: KeyStore): Promise<void> {
	if (store.kind === 'sqlite') await internals(store).db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
	else if (store.kind === 'postgres') await internals(store).db.raw('CHECKPOINT').catch(() => undefined); // needs superuser / pg_checkpoint
	await new Promise((r) => setTimeout(r, 1000));
}

/** PostgreSQL: dead tuples and vacuum runs of a table (the pick index scan walks dead entries until vacuum). */
async function pgTableStats(store: KeyStore, table: string): Promise<string> {
	if (store.kind !== 'postgres') return '';
	const res = await internals(store).db.raw(
		`SELECT n_live_tup, n_dead_tup, autovacuum_count, vacuum_count FROM pg_stat_user_tables WHERE relname = ?`,
		[table],
	);
	const r = res.rows[0] as { n_live_tup: number; n_dead_tup: number; autovacuum_count: number; vacuum_count: number } | undefined;
	return r ? `${table}: live ${fmt(Number(r.n_live_tup))}, dead ${fmt(Number(r.n_dead_tup))}, autovacuums ${r.autovacuum_count}` : `${table}: no stats`;
}

async function indexList(store: KeyStore, table: string): Promise<string[]> {
	if (store.kind === 'sqlite') {
		const rows = (await internals(store).db.raw(`SELECT il.name, il."unique" AS u, group_concat(ii.name, ',') AS cols
			FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii GROUP BY il.name ORDER BY il.name`, [table])) as Array<{ name: string; u: number; cols: string }>;
		return rows.map((r) => `${r.u ? 'UNIQUE ' : ''}(${r.cols})`).sort();
	}
	if (store.kind === 'mysql') {
		const [rows] = (await internals(store).db.raw('SHOW INDEX FROM ??', [table])) as [Array<{ Key_name: string; Non_unique: number; Seq_in_index: number; Column_name: string }>];
		const byKey = new Map<string, Array<{ n: number; c: string; u: boolean }>>();
		for (const r of rows) byKey.set(r.Key_name, [...(byKey.get(r.Key_name) ?? []), { n: Number(r.Seq_in_index), c: r.Column_name, u: Number(r.Non_unique) === 0 }]);
		return [...byKey.values()].map((cols) => `${cols[0].u ? 'UNIQUE ' : ''}(${cols.sort((a, b) => a.n - b.n).map((c) => c.c).join(', ')})`).sort();
	}
	const res = await internals(store).db.raw(`SELECT indexdef FROM pg_indexes WHERE tablename = ?`, [table]);
	return (res.rows as Array<{ indexdef: string }>).map((r) => r.indexdef.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree /, (_m, u) => (u ? 'UNIQUE ' : ''))).sort();
}

interface ClaimCell {
	db: Db;
	strategy: Strategy;
	size: number;
	inFlight: number;
	claims: number;
	ours: number;
	raw: number;
	oursP50: number;
	oursP99: number;
	rawP50: number;
	rawP99: number;
}

interface OpenStore {
	size: number;
	target: Target;
	store: KeyStore;
	raw: string;
}

/**
 * The claim cells of one database at one in-flight level, for every pool size at once. Sizes and
 * sides are interleaved in mirrored order — per size ours, raw; then sizes reversed, raw, ours —
 * so drift over time (the machine, WAL, vacuum) hits ours and raw, and 10k and 1M, alike: both
 * ratios (ours/raw and 1M/10k) are measured side by side.
 */
async function claimCells(open: OpenStore[], db: Db, inFlight: number, strategy: Strategy = 'sequential'): Promise<ClaimCell[]> {
	const n = CLAIMS[inFlight];
	const half = Math.floor(n / 2);
	const sides = open.map((o) => ({ o, ours: oursOp(o.store, strategy), raw: rawOp(o.store, o.raw, strategy), os: [] as Lap[], rs: [] as Lap[] }));
	for (const s of sides) {
		await lanes(WARMUP, inFlight, s.ours);
		await lanes(WARMUP, inFlight, s.raw);
	}
	for (const s of sides) {
		s.os.push(await lanes(half, inFlight, s.ours));
		s.rs.push(await lanes(half, inFlight, s.raw));
	}
	for (const s of [...sides].reverse()) {
		s.rs.push(await lanes(half, inFlight, s.raw));
		s.os.push(await lanes(half, inFlight, s.ours));
	}
	const rate = (laps: Lap[]) => (laps.reduce((sum, l) => sum + l.lat.length, 0) / laps.reduce((sum, l) => sum + l.ms, 0)) * 1000;
	const all = (laps: Lap[]) => laps.flatMap((l) => l.lat);
	return sides.map((s) => ({
		db,
		strategy,
		size: s.o.size,
		inFlight,
		claims: half * 2,
		ours: rate(s.os),
		raw: rate(s.rs),
		oursP50: pct(all(s.os), 50),
		oursP99: pct(all(s.os), 99),
		rawP50: pct(all(s.rs), 50),
		rawP99: pct(all(s.rs), 99),
	}));
}

// ---------------------------------------------------------------- diagnostics

interface Profile {
	db: Db;
	strategy: Strategy;
	size: number;
	claims: number;
	wallMsPerClaim: number;
	rawMsPerClaim: number;
	rows: Array<{ statement: string; perClaim: number; msPerClaim: number }>;
}

function statementKind(sql: string, keysTable: string, prefix: string): string {
	const s = sql.replace(/\s+/g, ' ').trim();
	const head = s.match(/^(\w+)/)?.[1]?.toUpperCase() ?? '?';
	if (/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/i.test(s)) return s.replace(/;$/, '').toUpperCase();
	if (/^SET TRANSACTION/i.test(s)) return 'SET TRANSACTION ISOLATION LEVEL';
	if (head === 'WITH' && /update/i.test(s) && /insert/i.test(s)) return 'WITH … one-statement claim (pick, delivery, keys, event)';
	const tbl = s.match(/(?:from|into|update)\s+[`"]?(\w+)[`"]?/i)?.[1] ?? '';
	const t = tbl === keysTable ? 'keys' : tbl.startsWith(prefix) ? tbl.slice(prefix.length) : tbl;
	if (head === 'SELECT' && t === 'deliveries' && /in \(/i.test(s)) return 'SELECT deliveries (existing? order_id, sku IN …)';
	if (head === 'SELECT' && t === 'deliveries') return 'SELECT deliveries by id (after commit)';
	if (head === 'SELECT' && t === 'keys' && /for update/i.test(s)) return 'SELECT keys … FOR UPDATE SKIP LOCKED (lock the pick)';
	if (head === 'SELECT' && t === 'keys' && /order by (rand|seq)/i.test(s)) return 'SELECT keys candidates (no lock)';
	if (head === 'SELECT' && t === 'keys' && /count\(/i.test(s)) return 'SELECT count(*) keys';
	if (head === 'SELECT' && t === 'keys') return 'SELECT keys by delivery_id (after commit)';
	if (head === 'SELECT' && t === 'products') return 'SELECT products (fixed content?)';
	if (head === 'INSERT' && t === 'claim') return 'INSERT INTO claim view … RETURNING (one-statement claim: trigger inserts delivery, assigns keys, writes event)';
	if (head === 'INSERT' && t === 'deliveries') return /on duplicate key/i.test(s) ? 'INSERT deliveries … ON DUPLICATE KEY UPDATE id = id' : 'INSERT deliveries … ON CONFLICT DO NOTHING';
	if (head === 'INSERT' && t === 'events') return 'INSERT events (claimed)';
	if (head === 'UPDATE' && t === 'keys') return /returning/i.test(s) ? 'UPDATE keys … WHERE id IN (pick) RETURNING' : 'UPDATE keys … WHERE id IN (…)';
	return `${head} ${t}`;
}

/** Runs claims one at a time with knex query events on: statements per claim, time per statement. */
async function profileClaims(store: KeyStore, db: Db, size: number, rawTable: string, prefix: string, strategy: Strategy = 'sequential'): Promise<Profile> {
	const acc = new Map<string, { n: number; ms: number }>();
	const ours = oursOp(store, strategy);
	const n = PROFILE_CLAIMS;
	const onDone = (sql: string, ms: number) => {
		const k = statementKind(sql, internals(store).t.keys, prefix);
		const a = acc.get(k) ?? { n: 0, ms: 0 };
		a.n++;
		a.ms += ms;
		acc.set(k, a);
	};
	const stop = store.kind === 'mysql' ? timeMysqlStatements(onDone) : timeStatements(store.kind, onDone);
	let lap: Lap;
	try {
		lap = await lanes(n, 1, ours);
	} finally {
		stop();
	}
	const rawLap = await lanes(n, 1, rawOp(store, rawTable, strategy));
	const rows = [...acc.entries()].map(([statement, a]) => ({ statement, perClaim: a.n / n, msPerClaim: a.ms / n }));
	return { db, strategy, size, claims: n, wallMsPerClaim: lap.ms / n, rawMsPerClaim: rawLap.ms / n, rows };
}

async function explainPick(store: KeyStore, rawTable: string): Promise<string> {
	const lines: string[] = [];
	if (store.kind === 'mysql') {
		const k = internals(store).t.keys;
		const probes: Array<[string, string]> = [
			[`${k} sequential candidates`, `SELECT seq, id FROM \`${k}\` WHERE sku = ? AND status = 'available' AND 1 = 1 ORDER BY seq, id LIMIT 65`],
			[`${k} random candidates`, `SELECT rand, id FROM \`${k}\` WHERE sku = ? AND status = 'available' AND rand >= 1073741823 ORDER BY rand, id LIMIT 17`],
			[`${k} lock by id`, `SELECT id, secret, seq FROM \`${k}\` FORCE INDEX (PRIMARY) WHERE id IN (1, 2, 3) AND sku = ? AND status = 'available' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`],
			[`${rawTable} sequential`, `SELECT id, secret FROM \`${rawTable}\` WHERE sku = ? AND status = 'available' ORDER BY seq, id LIMIT 1 FOR UPDATE SKIP LOCKED`],
			[`${rawTable} random candidate`, `SELECT id FROM \`${rawTable}\` WHERE sku = ? AND status = 'available' AND rand >= 1073741823 ORDER BY rand, id LIMIT 1`],
		];
		for (const [label, sql] of probes) {
			const [rows] = (await internals(store).db.raw(`EXPLAIN ${sql}`, [SKU])) as [Array<Record<string, unknown>>];
			lines.push(`${label}: ${rows.map((r) => `${r.type} on ${r.key} (key_len ${r.key_len}, rows ${r.rows}) ${r.Extra ?? ''}`).join(' / ')}`);
		}
		return lines.join('\n');
	}
	if (store.kind === 'sqlite') {
		for (const t of [internals(store).t.keys, rawTable]) {
			const rows = (await internals(store).db.raw(
				`EXPLAIN QUERY PLAN UPDATE "${t}" SET status = 'assigned', delivery_id = 1 WHERE id IN (SELECT id FROM "${t}" WHERE sku = ? AND status = 'available' AND 1 = 1 ORDER BY seq, id LIMIT 1) AND status = 'available' RETURNING id, secret, seq`,
				[SKU],
			)) as Array<{ detail: string }>;
			lines.push(`${t}: ${rows.map((r) => r.detail).join(' / ')}`);
		}
		return lines.join('\n');
	}
	for (const t of [internals(store).t.keys, rawTable]) {
		try {
			await internals(store).db.transaction(async (trx) => {
				const res = await trx.raw(
					`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) UPDATE "${t}" SET status = 'assigned', delivery_id = 1 WHERE id IN (SELECT id FROM "${t}" WHERE sku = ? AND status = 'available' AND 1 = 1 ORDER BY seq, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, secret, seq`,
					[SKU],
				);
				lines.push(`${t}:\n${(res.rows as Array<{ 'QUERY PLAN': string }>).map((r) => '    ' + r['QUERY PLAN']).join('\n')}`);
				throw new Error('rollback');
			});
		} catch (err) {
			if ((err as Error).message !== 'rollback') throw err;
		}
	}
	return lines.join('\n');
}

// ---------------------------------------------------------------- header

async function versions(): Promise<string[]> {
	const lines: string[] = [];
	for (const db of DBS) {
		const t = new Target(db, 'ver');
		const k = createKnexFor(t.cfg);
		try {
			if (db === 'sqlite') {
				const [v] = (await k.raw('SELECT sqlite_version() AS v')) as Array<{ v: string }>;
				const [j] = (await k.raw('PRAGMA journal_mode')) as Array<{ journal_mode: string }>;
				const [s] = (await k.raw('PRAGMA synchronous')) as Array<{ synchronous: number }>;
				lines.push(`SQLite ${v.v} (node sqlite3 ${require('sqlite3/package.json').version}), journal_mode=${j.journal_mode}, synchronous=${['OFF', 'NORMAL', 'FULL', 'EXTRA'][s.synchronous]}, file under ${os.tmpdir()}`);
			} else if (db === 'mysql') {
				const [[v]] = (await k.raw('SELECT VERSION() AS v')) as [Array<{ v: string }>];
				const [set] = (await k.raw(`SHOW VARIABLES WHERE Variable_name IN ('innodb_buffer_pool_size', 'innodb_flush_log_at_trx_commit', 'sync_binlog', 'max_connections', 'transaction_isolation', 'tx_isolation')`)) as [Array<{ Variable_name: string; Value: string }>];
				lines.push(`MySQL/MariaDB ${v.v} at ${t.cfg.host}:${t.cfg.port}/${t.cfg.databaseName} (${set.map((x) => `${x.Variable_name}=${x.Variable_name === 'innodb_buffer_pool_size' ? `${fmt(Number(x.Value) / MB)} MB` : x.Value}`).join(', ')}), pool max 10 (store default)`);
			} else {
				const v = (await k.raw('SELECT version() AS v')).rows[0].v as string;
				const set = (await k.raw(`SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers','synchronous_commit','fsync','wal_level','max_connections')`)).rows as Array<{ name: string; setting: string; unit: string | null }>;
				lines.push(`${v.split(' on ')[0]} at ${t.cfg.host}:${t.cfg.port}/${t.cfg.databaseName} (${set.map((s) => `${s.name}=${s.setting}${s.unit ? (/^\d/.test(s.unit) ? ` × ${s.unit}` : s.unit) : ''}`).join(', ')}), pool max 10 (store default)`);
			}
		} finally {
			await k.destroy();
		}
		await t.drop();
	}
	return lines;
}

// ---------------------------------------------------------------- main

interface ImportRow {
	db: Db;
	size: number;
	mode: 'generator' | 'array' | 'lines';
	report: ImportReport;
}

async function main(): Promise<void> {
	if (!DBS.length || DBS.some((d) => d !== 'sqlite' && d !== 'postgres' && d !== 'mysql')) throw new Error(`BENCH_DBS must list sqlite, postgres and/or mysql, got ${process.env.BENCH_DBS}`);
	const maxClaims = !PARTS.has('claim') ? 0 : IN_FLIGHT.reduce((s, f) => s + CLAIMS[f] + WARMUP, 0) + PROFILE_CLAIMS;
	if (SIZES[0] < maxClaims * 1.1) throw new Error(`smallest pool (${SIZES[0]}) must exceed the claims run per pool (${maxClaims}) by 10 %`);
	const cpus = os.cpus();
	const headerLines = [
		`Date: ${new Date().toISOString()}`,
		`Node ${process.version} (${process.platform} ${process.arch}), ${cpus.length} cores (${cpus[0]?.model ?? '?'}), ${fmt(os.totalmem() / MB / 1024, 1)} GB RAM`,
		...(await versions()),
		`Core under test: ${CORE.startsWith(ROOT + path.sep) ? path.relative(ROOT, CORE) : `${CORE} (a copy, not the repo's nodes/core)`}${process.env.BENCH_CORE_LABEL ? ` — ${process.env.BENCH_CORE_LABEL}` : ''}`,
		`Claims per cell: ${CLAIMS[1]} at 1 in flight, ${CLAIMS[32]} at 32 in flight (after ${WARMUP} warm-up claims per side; ours and raw in ABBA order)${QUICK ? ' — QUICK smoke run' : ''}`,
	];
	out('# n8n-nodes-auto-delivery key store benchmark');
	out();
	for (const l of headerLines) out(`- ${l}`);
	out();

	const cells: ClaimCell[] = [];
	const imports: ImportRow[] = [];
	const profiles: Profile[] = [];
	const plans: string[] = [];
	const indexCheck: string[] = [];
	const tableStats: string[] = [];
	const largest = SIZES[SIZES.length - 1];

	for (const db of DBS) {
		const open: OpenStore[] = [];
		try {
			for (const size of SIZES) {
				const target = new Target(db, `s${sizeLabel(size).toLowerCase()}`);
				await target.drop(); // leftovers of a crashed run
				let kept = false;
				try {
					log(`${db} ${sizeLabel(size)}: importing ${fmt(size)} keys (child process, generator)…`);
					const rep = await runImportChild({ cfg: target.cfg, sku: SKU, count: size, mode: 'generator' });
					if (rep.imported !== size) throw new Error(`imported ${rep.imported} of ${size}`);
					imports.push({ db, size, mode: 'generator', report: rep });
					log(`  ${fmt(rep.ms / 1000, 1)} s, ${fmt(size / (rep.ms / 1000))} keys/s, peak RSS ${fmt(rep.maxRss / MB)} MB`);
					if (!PARTS.has('claim')) continue;
					const store = await KeyStore.open(target.cfg);
					open.push({ size, target, store, raw: '' });
					kept = true;
					log(`  copying keys into the raw table…`);
					const { raw, indexes } = await makeRawTable(store);
					open[open.length - 1].raw = raw;
					const same = JSON.stringify(indexes.ours) === JSON.stringify(indexes.raw);
					indexCheck.push(`${db} ${sizeLabel(size)}: ${same ? 'same' : 'DIFFERENT'} indexes on ${internals(store).t.keys} and ${raw}: ${indexes.ours.join('; ')}`);
					if (!same) throw new Error(`raw table indexes differ: ${JSON.stringify(indexes)}`);
				} finally {
					if (!kept) await target.drop();
				}
			}
			for (const inFlight of open.length ? IN_FLIGHT : []) {
				for (const strategy of strategiesFor(db)) {
					for (const o of open) {
						// a pool that another strategy's cells drained gets its keys back (ours and raw alike)
						if ((await o.store.countAvailable(SKU)) < (CLAIMS[inFlight] + WARMUP + PROFILE_CLAIMS) * 1.1) {
							log(`  ${db} ${sizeLabel(o.size)}: refilling the pool…`);
							await refill(o);
						}
					}
					log(`${db}: claims, ${strategy}, ${inFlight} in flight, ${open.map((o) => sizeLabel(o.size)).join(' and ')} interleaved…`);
					for (const c of await claimCells(open, db, inFlight, strategy)) {
						cells.push(c);
						log(`    ${sizeLabel(c.size)}: ours ${fmt(c.ours)}/s, raw ${fmt(c.raw)}/s, ratio ${fmt(c.ours / c.raw, 2)}`);
					}
				}
				if (db === 'postgres') {
					for (const o of open) tableStats.push(`${db} ${sizeLabel(o.size)} after ${inFlight} in flight: ${await pgTableStats(o.store, internals(o.store).t.keys)}; ${await pgTableStats(o.store, o.raw)}`);
				}
			}
			for (const o of open) {
				for (const strategy of strategiesFor(db)) {
					if ((await o.store.countAvailable(SKU)) < PROFILE_CLAIMS * 1.1) await refill(o);
					log(`${db} ${sizeLabel(o.size)}: statement profile (${strategy})…`);
					profiles.push(await profileClaims(o.store, db, o.size, o.raw, o.target.prefix, strategy));
				}
				if (o.size === largest) plans.push(`${db} ${sizeLabel(o.size)}:\n${await explainPick(o.store, o.raw)}`);
				const left = await o.store.countAvailable(SKU);
				if (left < o.size * 0.05) log(`  warning: only ${left} keys left`);
			}
		} finally {
			for (const o of open) {
				await o.store.close();
				await o.target.drop();
			}
		}
		for (const mode of INPUT_VARIANTS) {
			const target = new Target(db, 'arr');
			await target.drop();
			try {
				log(`${db} ${sizeLabel(largest)}: importing ${fmt(largest)} keys (child process, ${inputLabel(mode)})…`);
				const rep = await runImportChild({ cfg: target.cfg, sku: SKU, count: largest, mode });
				if (rep.imported !== largest) throw new Error(`imported ${rep.imported} of ${largest}`);
				imports.push({ db, size: largest, mode, report: rep });
				log(`  ${fmt(rep.ms / 1000, 1)} s, ${fmt(largest / (rep.ms / 1000))} keys/s, peak RSS ${fmt(rep.maxRss / MB)} MB`);
			} finally {
				await target.drop();
			}
		}
	}

	// ---------------------------------------------------------------- report
	const claimRows = cells.map((c) => [
		dbLabel(c.db, c.strategy),
		sizeLabel(c.size),
		c.inFlight,
		fmt(c.ours),
		fmt(c.raw),
		fmt(c.ours / c.raw, 2),
		`${fmt(c.oursP50, 2)} / ${fmt(c.oursP99, 2)}`,
		`${fmt(c.rawP50, 2)} / ${fmt(c.rawP99, 2)}`,
		`${pf(c.ours / c.raw >= T_CLAIM_RATIO)} (≥ ${T_CLAIM_RATIO}×)`,
	]);
	const claimTable = table(['DB', 'pool', 'in flight', 'ours claims/s', 'raw claims/s', 'ours/raw', 'ours p50/p99 ms', 'raw p50/p99 ms', 'target'], claimRows);

	const scaleRows: Array<Array<string | number>> = [];
	const smallest = SIZES[0];
	if (SIZES.length > 1) {
		for (const db of DBS) {
			for (const strategy of strategiesFor(db)) {
				for (const f of IN_FLIGHT) {
					const a = cells.find((c) => c.db === db && c.strategy === strategy && c.size === smallest && c.inFlight === f);
					const b = cells.find((c) => c.db === db && c.strategy === strategy && c.size === largest && c.inFlight === f);
					if (!a || !b) continue;
					scaleRows.push([dbLabel(db, strategy), f, fmt(a.ours), fmt(b.ours), fmt(b.ours / a.ours, 2), fmt(b.raw / a.raw, 2), `${pf(b.ours / a.ours >= T_SCALE)} (≥ ${T_SCALE})`]);
				}
			}
		}
	}
	const scaleTable = table(['DB', 'in flight', `ours @${sizeLabel(smallest)}/s`, `ours @${sizeLabel(largest)}/s`, `ours ${sizeLabel(largest)}/${sizeLabel(smallest)}`, `raw ${sizeLabel(largest)}/${sizeLabel(smallest)}`, 'target'], scaleRows);

	const importRows = imports.map((i) => {
		const r = i.report;
		const secs = r.ms / 1000;
		const perMillion = secs * (1e6 / i.size);
		const rssMb = r.maxRss / MB;
		const is1M = i.size >= 1e6;
		const target = is1M
			? `${pf(perMillion <= T_IMPORT_SECONDS_PER_MILLION)} time (≤ ${T_IMPORT_SECONDS_PER_MILLION} s), ${pf(rssMb <= T_IMPORT_RSS_MB)} RSS (≤ ${T_IMPORT_RSS_MB} MB)`
			: 'n/a (targets are for 1M)';
		return [
			i.db,
			sizeLabel(i.size),
			inputLabel(i.mode),
			fmt(secs, 1),
			fmt(i.size / secs),
			fmt(rssMb),
			fmt(r.rssAfterOpen / MB),
			i.mode !== 'generator' ? fmt(r.rssAfterBuild / MB) : '—',
			fmt((r.dbWallMs / r.ms) * 100),
			fmt(r.dbMs / r.dbWallMs, 2),
			fmt(((r.cpuUserMs + r.cpuSystemMs) / r.ms) * 100),
			target,
		];
	});
	const importTable = table(['DB', 'keys', 'input', 'seconds', 'keys/s', 'peak RSS MB', 'RSS after open MB', 'RSS with input file built MB', '% time waiting on DB', 'avg statements in flight while waiting', 'node CPU %', 'target'], importRows);

	out('## Claim: KeyStore.claim vs raw single-statement claim (same DB, same pool)');
	out();
	out(claimTable);
	out();
	if (scaleRows.length) {
		out(`## Claim rate at ${sizeLabel(largest)} keys relative to ${sizeLabel(smallest)}`);
		out();
		out(scaleTable);
		out();
	}
	out('## Import (KeyStore.importKeys in a child process)');
	out();
	out(importTable);
	out();
	out('## Diagnostics');
	out();
	out('Raw table check:');
	for (const l of indexCheck) out(`- ${l}`);
	out();
	if (tableStats.length) {
		out('PostgreSQL keys tables after each claim cell (pg_stat_user_tables; stats lag up to ~0.5 s):');
		for (const l of tableStats) out(`- ${l}`);
		out();
	}
	for (const p of profiles) {
		out(`### Statements per claim: ${dbLabel(p.db, p.strategy)}, pool ${sizeLabel(p.size)} (${p.claims} claims, 1 in flight, every driver call timed)`);
		out();
		const sum = p.rows.reduce((s, r) => s + r.msPerClaim, 0);
		const rows = p.rows.map((r) => [r.statement, fmt(r.perClaim, 2), fmt(r.msPerClaim, 3), fmt((r.msPerClaim / p.wallMsPerClaim) * 100) + ' %']);
		rows.push(['(all statements)', fmt(p.rows.reduce((s, r) => s + r.perClaim, 0), 2), fmt(sum, 3), fmt((sum / p.wallMsPerClaim) * 100) + ' %']);
		rows.push(['(JS outside driver calls: validation, knex builder/transaction, unseal, pool)', '', fmt(p.wallMsPerClaim - sum, 3), fmt(((p.wallMsPerClaim - sum) / p.wallMsPerClaim) * 100) + ' %']);
		rows.push(['= ours, wall per claim', '', fmt(p.wallMsPerClaim, 3), '100 %']);
		rows.push(['raw claim, wall per claim (1 statement, same run)', '1', fmt(p.rawMsPerClaim, 3), '']);
		out(table(['statement', 'per claim', 'ms per claim', 'share of ours'], rows));
		out();
	}
	if (plans.length) {
		out('### Pick plans (largest pool)');
		out();
		out('```');
		for (const p of plans) out(p);
		out('```');
		out();
	}

	// README block
	out('## README block');
	out();
	out('```markdown');
	out(`Benchmark (\`npm run bench\`, ${new Date().toISOString().slice(0, 10)}): ${headerLines[1]}.`);
	for (const l of headerLines.slice(2, 2 + DBS.length)) out(`${l}.`);
	out();
	out(table(['DB', 'pool', 'in flight', 'ours claims/s', 'raw claims/s', 'ours/raw', 'target'], cells.map((c) => [dbLabel(c.db, c.strategy), sizeLabel(c.size), c.inFlight, fmt(c.ours), fmt(c.raw), fmt(c.ours / c.raw, 2), pf(c.ours / c.raw >= T_CLAIM_RATIO)])));
	out();
	if (scaleRows.length) {
		out(table(['DB', 'in flight', `claims/s @${sizeLabel(smallest)}`, `claims/s @${sizeLabel(largest)}`, 'ratio', 'target'], scaleRows.map((r) => [r[0], r[1], r[2], r[3], r[4], pf(Number(String(r[4]).replace(/,/g, '')) >= T_SCALE)])));
		out();
	}
	out(table(['DB', 'keys', 'input', 'seconds', 'keys/s', 'peak RSS MB', 'target'], importRows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[11]])));
	out('```');
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(err);
		process.exit(1);
	},
);
