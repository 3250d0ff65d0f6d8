/** Opening a store: connecting, migrations (serialised between processes), and the sealing keys behind the canary. */
import { randomInt } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Knex } from 'knex';

import { StoreError } from '../errors';
import { type KeyMaterial, checkCanary, deriveKeys, makeCanary, newSalt } from '../secrets';
import {
	type DatabaseKind,
	type StoreConfig,
	createKnexFor,
	defaultSqlitePath,
	describeConnectError,
	resolvePrefix,
	retryBusy,
} from './connection';
import { type StoreContext, makeContext, sleep } from './context';
import { KeyStoreMigrations, type TableNames, LATEST_MIGRATION, tableNames } from './schema';

/**
 * Connects, applies migrations (safe when several processes open the store at once) and checks
 * the Encryption Secret against the store's canary.
 */
export async function openContext(cfg: StoreConfig): Promise<StoreContext> {
	const prefix = resolvePrefix(cfg.tablePrefix);
	if (!cfg.encryptionSecret) {
		throw new StoreError('The Encryption Secret is required: set it in the Auto Delivery Key Store credential.');
	}
	if (cfg.database === 'sqlite') {
		const file = cfg.sqlitePath && cfg.sqlitePath.trim() ? cfg.sqlitePath.trim() : defaultSqlitePath();
		if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
	}
	let db: Knex | undefined;
	try {
		db = createKnexFor(cfg);
		const t = tableNames(prefix);
		await migrate(db, cfg.database, t);
		const opened = db;
		const km = await retryBusy(() => loadKeyMaterial(opened, t, cfg.encryptionSecret));
		return makeContext(db, cfg.database, t, km);
	} catch (err) {
		if (db) await db.destroy().catch(() => undefined);
		throw describeConnectError(cfg, err);
	}
}

function isLockedOrRace(err: unknown): boolean {
	if (err instanceof StoreError) return false; // our own refusal (e.g. migration 005's identity check): final
	const e = err as { name?: string; code?: string; message?: string; errno?: number };
	const msg = String(e?.message ?? '');
	return (
		e?.name === 'MigrationLocked' ||
		/already exists|duplicate|SQLITE_BUSY|database is locked|Migration table is already locked/i.test(msg) ||
		e?.code === '23505' || // unique violation (pg catalog race)
		e?.code === '42P07' || // duplicate table
		e?.errno === 1050 || // table exists
		e?.errno === 1062 || // duplicate entry
		e?.code === 'SQLITE_BUSY'
	);
}

/**
 * Applies migrations. PostgreSQL / MySQL serialise concurrent openers with a session-level
 * advisory lock (released by the server if the process dies); SQLite relies on knex's migration
 * lock plus retries on "already exists / busy".
 */
async function migrate(db: Knex, kind: DatabaseKind, t: TableNames): Promise<void> {
	const source = new KeyStoreMigrations(t);
	const run = async () => {
		const [, pending] = (await db.migrate.list({ migrationSource: source, tableName: t.migrations })) as [unknown[], unknown[]];
		if (pending.length === 0) return;
		await db.migrate.latest({ migrationSource: source, tableName: t.migrations });
	};
	const lockName = `n8n-nodes-auto-delivery:${t.migrations}`;
	const deadline = Date.now() + 60000;
	let lockedSince = 0;
	for (let attempt = 1; ; attempt++) {
		try {
			if (kind === 'sqlite') {
				try {
					await run();
				} catch (err) {
					// SQLite runs each migration inside a transaction that takes the file's write lock, so
					// two openers can never both apply it; knex's lock row only adds a way to get stuck
					// (a busy error while knex frees it leaves it set). A lock row still set after a few
					// seconds — far longer than these migrations take — is stale: clear it and go on.
					if ((err as { name?: string })?.name !== 'MigrationLocked') throw err;
					lockedSince ||= Date.now();
					if (Date.now() - lockedSince < 3000) throw err;
					await db.migrate.forceFreeMigrationsLock({ migrationSource: source, tableName: t.migrations });
					lockedSince = 0;
					await run();
				}
			} else {
				await withAdvisoryLock(db, kind, lockName, async () => {
					try {
						await run();
					} catch (err) {
						// Holding the advisory lock proves nobody else migrates: a knex lock left by a crashed opener is stale.
						if ((err as { name?: string })?.name === 'MigrationLocked') {
							await db.migrate.forceFreeMigrationsLock({ migrationSource: source, tableName: t.migrations });
							await run();
						} else throw err;
					}
				});
			}
			return;
		} catch (err) {
			if (isLockedOrRace(err) && Date.now() < deadline) {
				await sleep(50 + randomInt(0, 150));
				continue;
			}
			if ((err as { name?: string })?.name === 'MigrationLocked') {
				throw new StoreError(
					`The key store's migration lock is held (table ${t.migrations}_lock). If no other n8n process is starting up, a crash left it behind: set is_locked = 0 in that table.`,
				);
			}
			throw err;
		}
	}
}

async function withAdvisoryLock(db: Knex, kind: DatabaseKind, name: string, fn: () => Promise<void>): Promise<void> {
	const conn = await db.client.acquireConnection();
	try {
		if (kind === 'postgres') {
			await db.raw('SELECT pg_advisory_lock(hashtext(?))', [name]).connection(conn);
		} else {
			const [rows] = await db.raw('SELECT GET_LOCK(?, 60) AS ok', [name.slice(0, 64)]).connection(conn);
			if (Number(rows[0]?.ok) !== 1) throw Object.assign(new Error('Migration table is already locked'), { name: 'MigrationLocked' });
		}
		try {
			await fn();
		} finally {
			if (kind === 'postgres') await db.raw('SELECT pg_advisory_unlock(hashtext(?))', [name]).connection(conn);
			else await db.raw('SELECT RELEASE_LOCK(?)', [name.slice(0, 64)]).connection(conn);
		}
	} finally {
		await db.client.releaseConnection(conn);
	}
}

/** Reads (or, for a new store, creates) the salt and canary; fails loudly on a wrong secret. */
async function loadKeyMaterial(db: Knex, t: TableNames, secret: string): Promise<KeyMaterial> {
	const read = async (name: string): Promise<string | undefined> => (await db(t.meta).where({ name }).first())?.value;
	let salt = await read('kdf_salt');
	if (!salt) {
		await db(t.meta).insert({ name: 'kdf_salt', value: newSalt() }).onConflict('name').ignore();
		salt = (await read('kdf_salt')) as string;
	}
	const km = deriveKeys(secret, salt);
	let canary = await read('canary');
	if (!canary) {
		await db(t.meta).insert({ name: 'canary', value: makeCanary(km) }).onConflict('name').ignore();
		canary = (await read('canary')) as string;
	}
	checkCanary(km, canary);
	await db(t.meta).insert({ name: 'schema', value: LATEST_MIGRATION }).onConflict('name').merge();
	return km;
}
