/**
 * Import benchmark child process (forked by run.ts, compiled to plain JS first so neither ts-node
 * nor the TypeScript compiler sits in this process's memory). Opens the store, imports `count`
 * generated keys with KeyStore.importKeys and reports wall time, CPU time, time spent waiting on
 * the database and the process's peak RSS (process.resourceUsage().maxRSS).
 *
 * Job (env BENCH_IMPORT_JOB, JSON): { cfg: StoreConfig, sku, count, mode: 'generator' | 'array' | 'lines' }
 *  - generator: keys are produced lazily, one at a time (nothing holds all of them);
 *  - array: a TXT key file is built in memory and parsed like the Key Pool node does (bytes → text
 *    → split lines → trim), and the resulting string[] is passed in; file, text and array count
 *    towards peak RSS, building them does not count towards keys/s;
 *  - lines: the same file and text, but its lines handed over lazily by a generator (no string[]).
 */
import { performance } from 'perf_hooks';

import type { StoreConfig } from '../../nodes/core/store';
import { KeyStore } from '../../nodes/core/store';
import { readKeys } from '../../nodes/core/keyfiles';
import { timeStatements } from './instrument';

export interface ImportJob {
	cfg: StoreConfig;
	sku: string;
	count: number;
	mode: 'generator' | 'array' | 'lines';
}

export interface ImportReport {
	ok: true;
	mode: 'generator' | 'array' | 'lines';
	count: number;
	imported: number;
	duplicate: number;
	ms: number;
	buildMs: number;
	dbMs: number;
	/** Wall time with at least one database statement in flight. */
	dbWallMs: number;
	statements: number;
	cpuUserMs: number;
	cpuSystemMs: number;
	rssAfterOpen: number;
	rssAfterBuild: number;
	heapUsedAtEnd: number;
	maxRss: number;
}

/** ~29-character keys: `KEY-0000042-` + 17 random base-36 characters. */
export function* generateKeys(count: number): Generator<string> {
	for (let i = 0; i < count; i++) yield makeKey(i);
}

function makeKey(i: number): string {
	const r = (Math.random().toString(36).slice(2, 11) + Math.random().toString(36).slice(2, 10)).padEnd(17, '0');
	return `KEY-${String(i).padStart(7, '0')}-${r.toUpperCase()}`;
}

async function main(): Promise<void> {
	const job = JSON.parse(process.env.BENCH_IMPORT_JOB as string) as ImportJob;
	const store = await KeyStore.open(job.cfg);
	const rssAfterOpen = process.memoryUsage().rss;

	// Time spent waiting for the database (driver call → result, BEGIN / COMMIT included): summed
	// over statements (dbMs; more than the wall time when statements run on several connections at
	// once) and as wall time with at least one statement in flight (dbWallMs).
	let dbMs = 0;
	let statements = 0;
	const spans: Array<[number, number]> = [];
	timeStatements(store.kind, (_sql, ms) => {
		dbMs += ms;
		statements++;
		const end = performance.now();
		spans.push([end - ms, end]);
	});

	let keys: Iterable<string>;
	let buildMs = 0;
	let file: Buffer | undefined;
	if (job.mode === 'array' || job.mode === 'lines') {
		// What the Key Pool node holds after reading an uploaded TXT file: the file's bytes, its text,
		// and the trimmed lines (parseKeys: decode, split('\n'), trim, drop blanks).
		const t0 = performance.now();
		file = Buffer.allocUnsafe(job.count * 40);
		let off = 0;
		for (let i = 0; i < job.count; i++) off += file.write(makeKey(i) + '\n', off, 'latin1');
		file = file.subarray(0, off);
		const text = file.toString('utf8');
		if (job.mode === 'lines') {
			// What the Key Pool node does now: readKeys() on the uploaded file — the text is kept and
			// its lines are handed to importKeys lazily (no string[]).
			keys = readKeys(text, { format: 'txt' }).keys;
		} else {
			const parts = text.split('\n');
			const arr: string[] = [];
			for (const p of parts) {
				const k = p.trim();
				if (k !== '') arr.push(k);
			}
			keys = arr;
		}
		buildMs = performance.now() - t0;
	} else {
		keys = generateKeys(job.count);
	}
	const rssAfterBuild = process.memoryUsage().rss;

	const cpu0 = process.cpuUsage();
	const t0 = performance.now();
	const res = await store.importKeys({ sku: job.sku, keys, batchId: `bench-${job.mode}` });
	const ms = performance.now() - t0;
	const cpu = process.cpuUsage(cpu0);
	const heapUsedAtEnd = process.memoryUsage().heapUsed;
	spans.sort((a, b) => a[0] - b[0]);
	let dbWallMs = 0;
	let open: [number, number] | null = null;
	for (const [a, b] of spans) {
		if (a < t0 && b <= t0) continue; // before the import (open, migrations)
		const from = Math.max(a, t0);
		if (open && from <= open[1]) open[1] = Math.max(open[1], b);
		else {
			if (open) dbWallMs += open[1] - open[0];
			open = [from, b];
		}
	}
	if (open) dbWallMs += open[1] - open[0];
	if (file && file.length === 0) throw new Error('empty key file'); // keeps the file bytes alive, as the node does
	await store.close();

	const report: ImportReport = {
		ok: true,
		mode: job.mode,
		count: job.count,
		imported: res.imported,
		duplicate: res.duplicate,
		ms,
		buildMs,
		dbMs,
		dbWallMs,
		statements,
		cpuUserMs: cpu.user / 1000,
		cpuSystemMs: cpu.system / 1000,
		rssAfterOpen,
		rssAfterBuild,
		heapUsedAtEnd,
		maxRss: process.resourceUsage().maxRSS * 1024, // kilobytes → bytes
	};
	await new Promise<void>((resolve) => process.send!(report, () => resolve()));
	process.exit(0);
}

if (require.main === module) {
	main().catch((err: Error) => {
		process.send?.({ ok: false, error: String(err?.stack ?? err) }, () => process.exit(1));
	});
}
