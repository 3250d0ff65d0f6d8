/**
 * One pooled KeyStore per distinct credential, shared by every execution in this process and
 * closed when the process is about to exit — never a pool per execution.
 */
import { createHash } from 'crypto';

import type { StoreConfig } from './connection';
import { KeyStore } from './KeyStore';

const stores = new Map<string, Promise<KeyStore>>();
let hooked = false;

export function storeCacheKey(cfg: StoreConfig): string {
	const normalised = {
		database: cfg.database,
		sqlitePath: cfg.sqlitePath ?? '',
		host: cfg.host ?? '',
		port: cfg.port ?? 0,
		databaseName: cfg.databaseName ?? '',
		user: cfg.user ?? '',
		password: cfg.password ?? '',
		ssl: !!cfg.ssl,
		allowUnauthorizedCerts: !!cfg.allowUnauthorizedCerts,
		encryptionSecret: cfg.encryptionSecret,
		tablePrefix: cfg.tablePrefix ?? '',
		poolMax: cfg.poolMax ?? 0,
	};
	return createHash('sha256').update(JSON.stringify(normalised)).digest('hex');
}

/** The shared store for this credential; opened (and migrated) on first use. */
export function getStore(cfg: StoreConfig): Promise<KeyStore> {
	const key = storeCacheKey(cfg);
	let p = stores.get(key);
	if (!p) {
		p = KeyStore.open(cfg);
		stores.set(key, p);
		// A failed open is not cached: the next execution tries again (server back up, secret fixed).
		p.catch(() => {
			if (stores.get(key) === p) stores.delete(key);
		});
		if (!hooked) {
			hooked = true;
			process.once('beforeExit', () => void closeAllStores());
		}
	}
	return p;
}

export function openStoreCount(): number {
	return stores.size;
}

export async function closeAllStores(): Promise<void> {
	const all = [...stores.values()];
	stores.clear();
	await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close().catch(() => undefined)));
}
