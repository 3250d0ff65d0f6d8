/** The raw Knex handle, table names and sealing keys behind a KeyStore, for tests that inspect rows (not exported by store/index.ts). */
import { type StoreContext, contextOf } from './context';
import type { KeyStore } from './KeyStore';

export type { StoreContext } from './context';

/** The store's internal context: db (Knex), t (table names), km (sealing keys), kind, dialect, tx() and event(). */
export function internals(store: KeyStore): StoreContext {
	return contextOf(store);
}
