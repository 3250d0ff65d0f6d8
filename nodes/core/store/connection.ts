/**
 * Knex configuration per database, and the mapping of driver errors to messages a seller
 * understands. SQLite gets WAL mode, a busy timeout, full sync, and write transactions that begin
 * IMMEDIATE (several processes may share one file).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { knex as createKnex, type Knex } from 'knex';

import { ConnectionError, StoreError } from '../errors';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';

export interface StoreConfig {
	database: DatabaseKind;
	/** SQLite file path; empty → `<n8n user folder>/.n8n/auto-delivery.sqlite`. */
	sqlitePath?: string;
	host?: string;
	port?: number;
	databaseName?: string;
	user?: string;
	password?: string;
	ssl?: boolean;
	/** With ssl: accept self-signed certificates. */
	allowUnauthorizedCerts?: boolean;
	encryptionSecret: string;
	tablePrefix?: string;
	/** Largest number of pooled connections (PostgreSQL/MySQL). Default 10. */
	poolMax?: number;
}

export const DEFAULT_PREFIX = 'ad_';

export const SQLITE_BUSY_TIMEOUT_MS = 2000;

export function isSqliteBusy(err: unknown): boolean {
	const code = String((err as { code?: string })?.code ?? '');
	return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** Retries fn while SQLite answers busy (another writer holds the file), up to totalMs. */
export async function retryBusy<T>(fn: () => Promise<T>, totalMs = 30000): Promise<T> {
	const deadline = Date.now() + totalMs;
	for (let attempt = 0; ; attempt++) {
		try {
			return await fn();
		} catch (err) {
			if (!isSqliteBusy(err) || Date.now() > deadline) throw err;
			await new Promise((r) => setTimeout(r, Math.min(250, 10 * 2 ** attempt) + Math.floor(Math.random() * 20)));
		}
	}
}

export function defaultSqlitePath(): string {
	const base = process.env.N8N_USER_FOLDER || os.homedir();
	return path.join(base, '.n8n', 'auto-delivery.sqlite');
}

export function resolvePrefix(prefix: string | undefined): string {
	const p = prefix === undefined || prefix === null ? DEFAULT_PREFIX : String(prefix).trim();
	if (!/^[A-Za-z0-9_]{0,20}$/.test(p)) {
		throw new StoreError('The table prefix may only contain letters, digits and underscores (at most 20).');
	}
	return p;
}

let sqliteClientClass: unknown;

/**
 * The sqlite3 driver: this package's own copy, or — when its native binding is missing — the copy
 * n8n itself runs on. n8n's Community Nodes installer runs `npm install --ignore-scripts`, so our
 * sqlite3 gets no compiled binding there; n8n ships sqlite3 for its own database, built for the
 * very Node.js it runs on, and it is found from the running program's folder.
 */
export function loadSqlite3(
	load: (id: string) => unknown = require,
	resolveFrom: (id: string, base: string) => string = (id, base) => require.resolve(id, { paths: [base] }),
	programs: Array<string | undefined> = [require.main?.filename, process.argv[1]],
): unknown {
	let first: unknown;
	try {
		return load('sqlite3');
	} catch (err) {
		first = err;
	}
	const tried = new Set<string>();
	for (const program of programs) {
		if (!program) continue;
		let base: string;
		try {
			base = path.dirname(fs.realpathSync(program));
		} catch {
			continue;
		}
		let resolved: string;
		try {
			resolved = resolveFrom('sqlite3', base);
		} catch {
			continue;
		}
		if (tried.has(resolved)) continue;
		tried.add(resolved);
		try {
			return load(resolved);
		} catch {
			// try the next candidate
		}
	}
	const reason = String((first as Error)?.message ?? first).split('\n')[0];
	throw new StoreError(
		`The SQLite driver (sqlite3) could not be loaded: ${reason}. Its native part was not built (npm install --ignore-scripts). ` +
			'Run "npm rebuild sqlite3" in the folder where n8n-nodes-auto-delivery is installed (e.g. ~/.n8n/nodes), or use PostgreSQL or MySQL/MariaDB.',
	);
}

/** A knex SQLite client whose transactions begin IMMEDIATE (take the write lock up front). */
function immediateSqliteClient(): unknown {
	if (sqliteClientClass) return sqliteClientClass;
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const ClientSqlite = require('knex/lib/dialects/sqlite3');
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const TransactionSqlite = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction');
	class ImmediateTransaction extends TransactionSqlite {
		begin(conn: unknown) {
			return (this as unknown as { query(c: unknown, sql: string): Promise<unknown> }).query(
				conn,
				'BEGIN IMMEDIATE;',
			);
		}
	}
	class ImmediateClient extends ClientSqlite {
		_driver() {
			return loadSqlite3();
		}

		transaction(container: unknown, config: unknown, outerTx: unknown) {
			const Tx = ImmediateTransaction as unknown as new (...a: unknown[]) => unknown;
			return new Tx(this, container, config, outerTx);
		}
	}
	sqliteClientClass = ImmediateClient;
	return ImmediateClient;
}

function run(conn: { run(sql: string, cb: (err: Error | null) => void): void }, sql: string) {
	return new Promise<void>((resolve, reject) => conn.run(sql, (err) => (err ? reject(err) : resolve())));
}

export function knexConfig(cfg: StoreConfig): Knex.Config {
	switch (cfg.database) {
		case 'sqlite': {
			const filename = cfg.sqlitePath && cfg.sqlitePath.trim() ? cfg.sqlitePath.trim() : defaultSqlitePath();
			return {
				client: immediateSqliteClient() as Knex.Config['client'],
				connection: { filename },
				useNullAsDefault: true,
				pool: {
					min: 1,
					max: 1,
					afterCreate: (conn: never, done: (err: Error | null, conn: unknown) => void) => {
						(async () => {
							// Short: SQLite's busy handler sleeps inside one of libuv's 4 worker threads. Several
							// connections waiting 15 s each could starve the connection that holds the lock of a
							// thread to COMMIT with. Longer waits are retried from JavaScript (retryBusy).
							await run(conn, `PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
							await run(conn, 'PRAGMA journal_mode = WAL');
							// FULL: a committed claim survives power loss (a key handed out must never be handed out again)
							await run(conn, 'PRAGMA synchronous = FULL');
							// 64 MB page cache: big imports touch random pages of the fingerprint and rand indexes
							await run(conn, 'PRAGMA cache_size = -65536');
						})().then(
							() => done(null, conn),
							(err: Error) => done(err, conn),
						);
					},
				},
			};
		}
		case 'postgres': {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const pgTypes = require('pg').types;
			return {
				client: 'pg',
				connection: {
					host: cfg.host || '127.0.0.1',
					port: cfg.port || 5432,
					database: cfg.databaseName || 'postgres',
					user: cfg.user || 'postgres',
					password: cfg.password || undefined,
					ssl: cfg.ssl ? { rejectUnauthorized: !cfg.allowUnauthorizedCerts } : false,
					connectionTimeoutMillis: 10000,
					// int8 / numeric as numbers for this pool only (never touch pg's global parsers: n8n uses pg too)
					types: {
						getTypeParser: (oid: number, format: string) =>
							oid === 20 || oid === 1700 ? (v: string) => Number(v) : pgTypes.getTypeParser(oid, format),
					},
				} as Knex.PgConnectionConfig,
				pool: { min: 0, max: cfg.poolMax ?? 10, idleTimeoutMillis: 30000 },
				acquireConnectionTimeout: 30000,
			};
		}
		case 'mysql':
			return {
				client: 'mysql2',
				connection: {
					host: cfg.host || '127.0.0.1',
					port: cfg.port || 3306,
					database: cfg.databaseName || undefined,
					user: cfg.user || 'root',
					password: cfg.password || '',
					ssl: cfg.ssl ? { rejectUnauthorized: !cfg.allowUnauthorizedCerts } : undefined,
					charset: 'utf8mb4',
					connectTimeout: 10000,
					decimalNumbers: true,
					supportBigNumbers: true,
					// affectedRows = rows changed, not rows matched (the idempotency latch relies on it)
					flags: '-FOUND_ROWS',
				} as Knex.MySql2ConnectionConfig,
				pool: { min: 0, max: cfg.poolMax ?? 10, idleTimeoutMillis: 30000 },
				acquireConnectionTimeout: 30000,
			};
		default:
			throw new StoreError(`Unknown database type "${String((cfg as StoreConfig).database)}". Choose SQLite, PostgreSQL or MySQL/MariaDB.`);
	}
}

export function createKnexFor(cfg: StoreConfig): Knex {
	return createKnex(knexConfig(cfg));
}

/** Turns a driver error met while opening the store into a message a seller can act on. */
export function describeConnectError(cfg: StoreConfig, err: unknown): StoreError {
	if (err instanceof StoreError) return err;
	const e = err as { code?: string; errno?: number; message?: string };
	const code = String(e?.code ?? '');
	const where =
		cfg.database === 'sqlite'
			? `SQLite file ${cfg.sqlitePath || defaultSqlitePath()}`
			: `${cfg.database === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} at ${cfg.host || '127.0.0.1'}:${cfg.port || (cfg.database === 'postgres' ? 5432 : 3306)}`;
	if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'].includes(code) ||
		/timeout acquiring a connection|Connection terminated|connect ETIMEDOUT/i.test(e?.message ?? '')) {
		return new ConnectionError(`Cannot reach the ${where} (${code || 'timeout'}). Check host, port and that the server is running.`, 'unreachable');
	}
	if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
		return new ConnectionError(`The ${where} refused the login (${code}). Check the user name and password.`, 'auth');
	}
	if (code === '3D000' || code === 'ER_BAD_DB_ERROR') {
		return new ConnectionError(`The database named in the credential does not exist on the ${where} (${code}). Create it first.`, 'database');
	}
	if (code === 'SQLITE_CANTOPEN') {
		return new ConnectionError(`Cannot open the ${where}: check that the folder exists and n8n may write there.`, 'unreachable');
	}
	if (code === 'SQLITE_NOTADB') {
		return new ConnectionError(`The ${where} is not an SQLite database.`, 'database');
	}
	return new StoreError(`Could not open the key store (${where}): ${e?.message ?? String(err)}`);
}
