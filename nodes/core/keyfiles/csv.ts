/** CSV backup of exported keys (RFC 4180 quoting, UTF-8 with BOM so spreadsheet apps read Chinese text). */
import type { ExportedKey } from '../store/KeyStore';

// `shop` (the order's shop; empty for the default shop) came last so older readers keep their columns.
const COLUMNS: Array<keyof ExportedKey> = ['id', 'sku', 'key', 'status', 'batchId', 'orderId', 'createdAt', 'shop'];
const HEADER = ['id', 'sku', 'key', 'status', 'batch_id', 'order_id', 'created_at', 'shop'];

export function csvField(v: unknown): string {
	const s = v === null || v === undefined ? '' : String(v);
	return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function exportCsv(rows: AsyncIterable<ExportedKey>): Promise<{ buffer: Buffer; rows: number }> {
	const parts: string[] = ['\ufeff' + HEADER.join(',') + '\r\n'];
	let n = 0;
	for await (const r of rows) {
		parts.push(COLUMNS.map((c) => csvField(r[c])).join(',') + '\r\n');
		n++;
	}
	return { buffer: Buffer.from(parts.join(''), 'utf8'), rows: n };
}
