/**
 * The demo SKUs and their keys, written through the key store itself (nodes/core/KeyStore.ts) into
 * the SQLite file the n8n credential "Auto Delivery Key Store" points at. SQLite in WAL mode with a
 * busy timeout: safe while n8n uses the same file (DESIGN §4).
 */
import { randomBytes } from 'node:crypto';

import { KeyStore } from '../nodes/core/store';
import { DEMO_PRODUCTS, TOP_UP_BELOW, TOP_UP_COUNT, paths } from './common';

export interface StockLine {
	sku: string;
	name: string;
	available: number;
	assigned: number;
	toppedUp: number;
}

function demoKey(prefix: string): string {
	const part = () => randomBytes(3).toString('hex').toUpperCase().slice(0, 5);
	return `${prefix}-${part()}-${part()}-${part()}`;
}

export function openStore(encryptionSecret: string): Promise<KeyStore> {
	return KeyStore.open({ database: 'sqlite', sqlitePath: paths.keyStore, encryptionSecret, tablePrefix: 'ad_' });
}

/**
 * Creates the demo products when missing (a seller's later edits are kept) and imports
 * TOP_UP_COUNT fresh keys into every demo SKU that has fewer than TOP_UP_BELOW available.
 */
export async function ensureDemoStock(encryptionSecret: string): Promise<StockLine[]> {
	const store = await openStore(encryptionSecret);
	try {
		const out: StockLine[] = [];
		for (const p of DEMO_PRODUCTS) {
			if (!(await store.getProduct(p.sku))) await store.upsertProduct({ sku: p.sku, name: p.name, lowStockThreshold: p.threshold });
			const [before] = await store.stock(p.sku);
			let toppedUp = 0;
			if ((before?.available ?? 0) < TOP_UP_BELOW) {
				const keys = Array.from({ length: TOP_UP_COUNT }, () => demoKey(p.prefix));
				const r = await store.importKeys({ sku: p.sku, keys, batchId: `demo-${new Date().toISOString().slice(0, 19)}`, productName: p.name, actor: { node: 'npm start (demo stock)' } });
				toppedUp = r.imported;
			}
			const [after] = await store.stock(p.sku);
			out.push({ sku: p.sku, name: after?.name ?? p.name, available: after?.available ?? 0, assigned: after?.assigned ?? 0, toppedUp });
		}
		return out;
	} finally {
		await store.close();
	}
}
