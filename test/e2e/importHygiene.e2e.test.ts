/**
 * Issue point 5: keys uploaded through the bundled import form (workflows/import-keys.json, as
 * shipped) must not stay behind in plain text. n8n 2.41.1 keeps a form upload in its binary-data
 * storage (`<user folder>/.n8n/storage/workflows/<workflow>/executions/<id>/binary_data/<uuid>`,
 * filesystem mode, the default in regular mode); formidable buffers the upload in os.tmpdir()
 * first (n8n removes that file once the Form Trigger has copied it).
 *
 * For each of two n8n configurations — n8n's own defaults (pruning on, executions saved), and the
 * driver's keep-everything settings (every execution saved, pruning off) — 200 recognisable keys are
 * uploaded through the real form (multipart, basic auth, completion page, like a browser), plus a
 * CSV that the import refuses (wrong key column). Then every file under the instance's user folder
 * (binary data, database.sqlite and its -wal/-shm, event logs, n8n's output, the key store), n8n's
 * own TMPDIR and whatever changed in os.tmpdir() during the test is searched for the keys: as UTF-8,
 * UTF-16LE and base64 (all three alignments) — once while n8n runs and once after it stopped.
 * The import itself must have happened: the key store's stock of the SKU rose by 200.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance } from './n8nInstance';
import { basicAuth, submitForm } from './workflowDriver';

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (n = 5) => randomBytes(n).toString('hex').toUpperCase();

const CRED_IDS = { keyStore: 'adKeyStore0001', formLogin: 'adFormLogin001' };
const WF_ID = 'adWfImportKeys01';
const FORM_PATH = 'auto-delivery/import-keys';
const FORM_USER = 'seller';

// ------------------------------------------------------------------------------------------------
// Searching files for the keys

interface Needle {
	label: string;
	bytes: Buffer;
}

/**
 * Byte patterns that reveal `marker` (a part of every key): UTF-8, UTF-16LE, and base64 at the three
 * possible alignments (the first 4 characters depend on the preceding bytes when the marker does not
 * start a 3-byte group, the last 4 on the following bytes; the characters in between do not).
 */
function needlesFor(marker: string): Needle[] {
	const out: Needle[] = [
		{ label: 'utf8', bytes: Buffer.from(marker, 'utf8') },
		{ label: 'utf16le', bytes: Buffer.from(marker, 'utf16le') },
	];
	for (let shift = 0; shift < 3; shift++) {
		const enc = Buffer.concat([Buffer.alloc(shift), Buffer.from(marker, 'utf8')]).toString('base64');
		out.push({ label: `base64+${shift}`, bytes: Buffer.from(enc.slice(shift === 0 ? 0 : 4, enc.length - 4), 'ascii') });
	}
	return out;
}

interface Finding {
	file: string;
	size: number;
	how: string[];
	keys: number;
}

/** Every regular file under `root` (symlinks not followed); optionally only those modified since `since`. */
function listFiles(root: string, opts: { since?: number; skipDir?: (dir: string, name: string) => boolean } = {}): string[] {
	const files: string[] = [];
	const walk = (dir: string) => {
		let entries: fs.Dirent[];
		try {
			entries = fs.readdirSync(dir, { withFileTypes: true });
		} catch {
			return; // gone or not ours to read
		}
		for (const e of entries) {
			const full = path.join(dir, e.name);
			if (e.isDirectory()) {
				if (!opts.skipDir?.(full, e.name)) walk(full);
			} else if (e.isFile()) {
				if (opts.since !== undefined) {
					try {
						if (fs.statSync(full).mtimeMs < opts.since) continue;
					} catch {
						continue;
					}
				}
				files.push(full);
			}
		}
	};
	walk(root);
	return files;
}

function scanFiles(files: string[], needles: Needle[], keys: string[]): Finding[] {
	const findings: Finding[] = [];
	for (const file of files) {
		let buf: Buffer;
		try {
			buf = fs.readFileSync(file);
		} catch {
			continue; // removed meanwhile, or unreadable
		}
		const how = needles.filter((n) => buf.includes(n.bytes)).map((n) => n.label);
		if (how.length) findings.push({ file, size: buf.length, how, keys: keys.filter((k) => buf.includes(k)).length });
	}
	return findings;
}

// ------------------------------------------------------------------------------------------------

const SCENARIOS: Array<[string, Record<string, string | undefined>]> = [
	[
		"n8n's defaults (executions saved, pruning on)",
		{
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: undefined,
			EXECUTIONS_DATA_SAVE_ON_ERROR: undefined,
			EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS: undefined,
			EXECUTIONS_DATA_PRUNE: undefined,
		},
	],
	["the driver's keep-everything settings (every execution saved, pruning off), debug log", { N8N_LOG_LEVEL: 'debug' }],
];

describe.each(SCENARIOS)('e2e: keys uploaded through the import form leave nothing behind — %s', (_title, env) => {
	const RUN = rand();
	const MARKER = `IMPHYG-${RUN}-`; // in every uploaded key, nowhere else
	const KEYS = Array.from({ length: 200 }, (_, i) => `${MARKER}${String(i).padStart(3, '0')}-${rand(6)}`);
	const REFUSED = Array.from({ length: 20 }, (_, i) => `${MARKER}R${String(i).padStart(2, '0')}-${rand(6)}`);
	const SKU = `HYG-${rand(3)}`;
	const SEEDED = Array.from({ length: 5 }, (_, i) => `SEED-${i}-${rand()}`);
	const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
	const FORM_PASSWORD = `form-${rand()}`;
	const needles = needlesFor(MARKER);
	const allKeys = [...KEYS, ...REFUSED];

	let n8n: N8nInstance;
	let storeFile: string;
	let n8nTmp: string; // TMPDIR of the n8n process
	let t0: number;

	const storeCfg = () => ({ database: 'sqlite' as const, sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' });
	const available = async () => {
		const store = await KeyStore.open(storeCfg());
		try {
			return (await store.stock(SKU))[0]?.available ?? 0;
		} finally {
			await store.close();
		}
	};

	/** Everything that could hold an upload: the user folder, n8n's TMPDIR, files changed in os.tmpdir() since the start. */
	function filesToSearch(): string[] {
		const ours = new Set([path.resolve(n8n.userFolder), path.resolve(n8nTmp)]);
		const elsewhere = listFiles(os.tmpdir(), {
			since: t0,
			skipDir: (dir, name) => ours.has(path.resolve(dir)) || name === 'node_modules' || name === '.git',
		});
		return [...listFiles(n8n.userFolder), ...listFiles(n8nTmp), ...elsewhere];
	}

	function expectNothingFound(when: string): void {
		const files = filesToSearch();
		const findings = scanFiles(files, needles, allKeys);
		log(`[hygiene] ${when}: searched ${files.length} files (${files.filter((f) => f.startsWith(n8n.userFolder)).length} in the user folder): ${findings.length ? JSON.stringify(findings, null, 1) : 'no key found'}`);
		expect(findings).toEqual([]);
	}

	beforeAll(async () => {
		t0 = Date.now() - 1000;
		n8nTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-e2e-hyg-tmp-'));
		n8n = await createInstance({ log, env: { ...env, TMPDIR: n8nTmp } });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-hygiene.sqlite');
		const store = await KeyStore.open(storeCfg());
		try {
			expect((await store.importKeys({ sku: SKU, keys: SEEDED, productName: 'Hygiene' })).imported).toBe(SEEDED.length);
		} finally {
			await store.close();
		}
		await n8n.importCredentials([
			{ id: CRED_IDS.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { ...storeCfg() } },
			{ id: CRED_IDS.formLogin, name: 'Auto Delivery Forms Login', type: 'httpBasicAuth', data: { user: FORM_USER, password: FORM_PASSWORD } },
		]);
		expect(await n8n.importWorkflowFile(path.join(REPO_ROOT, 'workflows', 'import-keys.json'))).toEqual([WF_ID]);
		await n8n.publish(WF_ID);
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.dispose();
		if (n8nTmp && process.env.AD_E2E_KEEP !== '1') fs.rmSync(n8nTmp, { recursive: true, force: true });
	});

	it('imports 200 keys through the real form (and refuses a CSV with a wrong key column)', async () => {
		expect(await available()).toBe(SEEDED.length);
		const auth = basicAuth(FORM_USER, FORM_PASSWORD);
		const ok = await submitForm(n8n.formUrl(FORM_PATH), auth, [SKU, '', { content: KEYS.join('\n'), fileName: 'keys.txt' }, 'TXT (one key per line)', '1']);
		expect(ok.title).toBe('Keys imported / 导入完成');
		expect(ok.message).toContain('Imported / 新增: 200');

		const csv = ['note,code', ...REFUSED.map((k, i) => `n${i},${k}`)].join('\n');
		const bad = await submitForm(n8n.formUrl(FORM_PATH), auth, [SKU, '', { content: csv, fileName: 'keys.csv', type: 'text/csv' }, 'CSV with header row', 'serial']);
		expect(bad.title).toBe('Import failed / 导入失败');

		// n8n answers the completion POST before it has finished (and saved or deleted) the execution.
		// An execution that is not to be saved is deleted at once with pruning off; with pruning on it
		// only gets a `deletedAt` in the past (its status stays "running") and goes at the next
		// hard-deletion run of the pruning service.
		const deadline = Date.now() + 30_000;
		let rows: Array<{ id: number; status: string; deletedAt: string | null }> = [];
		for (;;) {
			rows = await n8n.sqlite().all('SELECT id, status, deletedAt FROM execution_entity WHERE workflowId = ?', [WF_ID]);
			if (rows.every((r) => r.deletedAt !== null || ['success', 'error', 'crashed', 'canceled'].includes(r.status))) break;
			if (Date.now() > deadline) throw new Error(`import executions still running: ${JSON.stringify(rows)}`);
			await sleep(200);
		}
		log(`[hygiene] import executions left in n8n's database: ${JSON.stringify(rows)}`);
		await sleep(1000);
		expect(await available()).toBe(SEEDED.length + 200);
	});

	it('leaves no uploaded key in plain text (or UTF-16, or base64) anywhere while n8n runs', () => {
		expectNothingFound('n8n running');
	});

	it('… nor after n8n stopped (database.sqlite checkpointed, output log written)', async () => {
		await n8n.stop();
		const dbFiles = fs.readdirSync(n8n.n8nFolder).filter((f) => f.startsWith('database.sqlite'));
		log(`[hygiene] n8n's database files after stop: ${dbFiles.join(', ')}`);
		expect(dbFiles).toContain('database.sqlite');
		expect(fs.existsSync(path.join(n8n.userFolder, 'n8n-output.log'))).toBe(true);
		expectNothingFound('n8n stopped');
		expect(await available()).toBe(SEEDED.length + 200);
	});
});
