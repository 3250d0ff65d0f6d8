/**
 * The cached runtime for end-to-end tests: Node 24.21.0 and n8n 2.41.1, installed once into a
 * cache outside the repository and reused by every run.
 *
 *   const rt = await ensureRuntime({ log: (l) => console.error(l) });
 *   spawn(rt.nodeBin, [rt.n8nBin, 'start'], { env: { ...process.env, ...rt.env } });
 *
 * Layout of the cache (default ~/.cache/n8n-auto-delivery, override with AD_N8N_CACHE):
 *
 *   node-24.21.0/            the npm package node-<platform>-<arch>@24.21.0 unpacked (bin/node, include/)
 *   n8n-2.41.1/              `npm install n8n@2.41.1 --ignore-scripts` + `npm rebuild sqlite3` (~3 GB)
 *   bindings/sqlite3-<version>-napi-<platform>-<arch>/node_sqlite3.node
 *                            verified sqlite3 native bindings reused when installing the package tarball
 *   logs/                    npm output of the installs
 *   tmp/                     work area; anything here is scratch
 *   .install.lock/           held while installing (owner pid inside; a dead owner's lock is taken over)
 *
 * Every installed directory carries a `.complete` marker written only after verification, and is
 * built in tmp/ and renamed into place: an interrupted install leaves no half directory behind, and
 * the next run starts it again. A directory without marker (e.g. made by hand with the same
 * commands) is verified and adopted, or moved away and reinstalled.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const NODE_VERSION = '24.21.0';
export const N8N_VERSION = '2.41.1';
/** Free disk space the n8n install needs (it is ~3 GB on disk, plus npm's cache). */
const N8N_MIN_FREE_BYTES = 4 * 1024 ** 3;

export interface Runtime {
	cacheDir: string;
	nodeVersion: string;
	n8nVersion: string;
	/** <cache>/node-24.21.0 (headers in include/node). */
	nodeDir: string;
	nodeBinDir: string;
	/** Node 24 executable. */
	nodeBin: string;
	/** <cache>/n8n-2.41.1 (n8n in node_modules/n8n). */
	n8nDir: string;
	/** n8n's CLI script; run it as `spawn(nodeBin, [n8nBin, ...args])`. */
	n8nBin: string;
	/** Environment additions for anything that must run on Node 24 (PATH with Node 24 first). */
	env: Record<string, string>;
}

export interface EnsureRuntimeOptions {
	/** Progress lines (install steps, heartbeats). Default: nothing. */
	log?: (line: string) => void;
	/** Default: $AD_N8N_CACHE or ~/.cache/n8n-auto-delivery. */
	cacheDir?: string;
}

export function defaultCacheDir(): string {
	return process.env.AD_N8N_CACHE || path.join(os.homedir(), '.cache', 'n8n-auto-delivery');
}

const memo = new Map<string, Promise<Runtime>>();

/** Installs what is missing (saying so), verifies, and returns the paths. Cheap when cached (~0.3 s). */
export function ensureRuntime(opts: EnsureRuntimeOptions = {}): Promise<Runtime> {
	const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
	let p = memo.get(cacheDir);
	if (!p) {
		p = ensure(cacheDir, opts.log ?? (() => undefined));
		memo.set(cacheDir, p);
		p.catch(() => memo.delete(cacheDir));
	}
	return p;
}

function layout(cacheDir: string): Runtime {
	const nodeDir = path.join(cacheDir, `node-${NODE_VERSION}`);
	const nodeBinDir = path.join(nodeDir, 'bin');
	const n8nDir = path.join(cacheDir, `n8n-${N8N_VERSION}`);
	return {
		cacheDir,
		nodeVersion: NODE_VERSION,
		n8nVersion: N8N_VERSION,
		nodeDir,
		nodeBinDir,
		nodeBin: path.join(nodeBinDir, 'node'),
		n8nDir,
		n8nBin: path.join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'),
		env: { PATH: [nodeBinDir, process.env.PATH ?? ''].join(path.delimiter) },
	};
}

const MARKER = '.complete';
const isComplete = (dir: string) => fs.existsSync(path.join(dir, MARKER));
function writeMarker(dir: string, info: Record<string, unknown>): void {
	fs.writeFileSync(path.join(dir, MARKER), `${JSON.stringify({ ...info, at: new Date().toISOString() }, null, 2)}\n`);
}

async function ensure(cacheDir: string, log: (line: string) => void): Promise<Runtime> {
	const rt = layout(cacheDir);
	if (isComplete(rt.nodeDir) && isComplete(rt.n8nDir) && quickCheck(rt)) return rt;

	fs.mkdirSync(cacheDir, { recursive: true });
	const release = await acquireLock(cacheDir, log);
	try {
		cleanTmp(cacheDir);
		if (!isComplete(rt.nodeDir)) await installNode(rt, log);
		if (!isComplete(rt.n8nDir)) await installN8n(rt, log);
		if (!quickCheck(rt)) {
			throw new Error(`The cached runtime in ${cacheDir} does not run (\`${rt.nodeBin} ${rt.n8nBin} --version\` is not ${N8N_VERSION}). Remove ${rt.n8nDir} (or the whole cache) and run again.`);
		}
	} finally {
		release();
	}
	return rt;
}

/** `node --version` and `n8n --version` (n8n's bin answers --version before loading anything: ~0.1 s). */
function quickCheck(rt: Runtime): boolean {
	const node = spawnSync(rt.nodeBin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
	if (node.status !== 0 || node.stdout.trim() !== `v${NODE_VERSION}`) return false;
	const n8n = spawnSync(rt.nodeBin, [rt.n8nBin, '--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...rt.env } });
	return n8n.status === 0 && n8n.stdout.trim() === N8N_VERSION;
}

// ---------------------------------------------------------------------------------------------
// Lock and scratch space
// ---------------------------------------------------------------------------------------------

function pidAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

async function acquireLock(cacheDir: string, log: (line: string) => void): Promise<() => void> {
	const lockDir = path.join(cacheDir, '.install.lock');
	const owner = path.join(lockDir, 'owner');
	const deadline = Date.now() + 45 * 60_000;
	let announced = false;
	for (;;) {
		try {
			fs.mkdirSync(lockDir);
			fs.writeFileSync(owner, `${process.pid}\n${os.hostname()}\n`);
			lockDirHeld = lockDir;
			return () => {
				lockDirHeld = undefined;
				fs.rmSync(lockDir, { recursive: true, force: true });
			};
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
		}
		let pid = NaN;
		try {
			pid = Number(fs.readFileSync(owner, 'utf8').split('\n')[0]);
		} catch {
			// owner file not written yet, or lock just released
		}
		const ageMs = (() => {
			try {
				return Date.now() - fs.statSync(lockDir).mtimeMs;
			} catch {
				return 0;
			}
		})();
		if ((!Number.isNaN(pid) && !pidAlive(pid)) || (Number.isNaN(pid) && ageMs > 60_000)) {
			log(`[runtime] taking over a stale install lock (owner ${Number.isNaN(pid) ? 'unknown' : `pid ${pid}`} is gone)`);
			try {
				for (const line of fs.readFileSync(path.join(lockDir, 'children'), 'utf8').split('\n')) {
					const child = Number(line);
					if (pidAlive(child)) process.kill(child, 'SIGKILL'); // an installer the dead owner left running
				}
			} catch {
				// no children recorded
			}
			fs.rmSync(lockDir, { recursive: true, force: true });
			continue;
		}
		if (!announced) {
			log(`[runtime] another process (pid ${pid}) is installing the runtime into ${cacheDir}; waiting for it`);
			announced = true;
		}
		if (Date.now() > deadline) throw new Error(`Timed out waiting for the runtime install lock ${lockDir} (pid ${pid})`);
		await new Promise((r) => setTimeout(r, 2000));
	}
}

/** Called with the lock held: nobody else is installing, so everything in tmp/ is leftover. */
function cleanTmp(cacheDir: string): void {
	const tmp = path.join(cacheDir, 'tmp');
	fs.rmSync(tmp, { recursive: true, force: true });
	fs.mkdirSync(tmp, { recursive: true });
}

function scratch(rt: Runtime, name: string): string {
	return fs.mkdtempSync(path.join(rt.cacheDir, 'tmp', `${name}-`));
}

/** Moves a directory that failed verification out of the way (renamed first, so it is never half-deleted in place). */
function discard(dir: string, log: (line: string) => void, why: string): void {
	if (!fs.existsSync(dir)) return;
	log(`[runtime] ${dir} ${why}; removing it`);
	const aside = `${dir}.broken-${process.pid}`;
	fs.renameSync(dir, aside);
	fs.rmSync(aside, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Running commands with a heartbeat
// ---------------------------------------------------------------------------------------------

interface RunOptions {
	cwd: string;
	env?: NodeJS.ProcessEnv;
	log: (line: string) => void;
	/** Label for heartbeats. */
	what: string;
	/** Appended to every heartbeat (e.g. a package count). */
	progress?: () => string;
	logFile: string;
}

/** Installer children: killed if this process exits, and recorded in the lock so that whoever takes over a stale lock can kill leftovers. */
const children = new Set<number>();
let lockDirHeld: string | undefined;
function recordChildren(): void {
	if (!lockDirHeld) return;
	try {
		fs.writeFileSync(path.join(lockDirHeld, 'children'), [...children].join('\n'));
	} catch {
		// lock released
	}
}
process.once('exit', () => {
	for (const pid of children) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// gone
		}
	}
});

function run(cmd: string, args: string[], o: RunOptions): Promise<void> {
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const out = fs.openSync(o.logFile, 'a');
		fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}   (cwd ${o.cwd})\n`);
		const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', out, out] });
		const pid = child.pid;
		if (pid) {
			children.add(pid);
			recordChildren();
			child.once('exit', () => {
				children.delete(pid);
				recordChildren();
			});
		}
		const beat = setInterval(() => {
			const s = Math.round((Date.now() - t0) / 1000);
			o.log(`[runtime] … ${o.what}: ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s${o.progress ? `, ${o.progress()}` : ''}`);
		}, 15_000);
		child.on('error', (err) => {
			clearInterval(beat);
			fs.closeSync(out);
			reject(err);
		});
		child.on('exit', (code, signal) => {
			clearInterval(beat);
			fs.closeSync(out);
			if (code === 0) return resolve();
			const tail = fs.readFileSync(o.logFile, 'utf8').split('\n').slice(-30).join('\n');
			reject(new Error(`${o.what} failed (${signal ?? `exit ${code}`}); full log: ${o.logFile}\n${tail}`));
		});
	});
}

function logFileFor(rt: Runtime, name: string): string {
	const dir = path.join(rt.cacheDir, 'logs');
	fs.mkdirSync(dir, { recursive: true });
	return path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
}

const npmCmd = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// ---------------------------------------------------------------------------------------------
// Node 24
// ---------------------------------------------------------------------------------------------

function nodePackageName(): string {
	const platform = process.platform;
	const arch = process.arch;
	if (!['linux', 'darwin'].includes(platform) || !['x64', 'arm64'].includes(arch)) {
		throw new Error(`No Node ${NODE_VERSION} package for ${platform}-${arch}: install Node ${NODE_VERSION} into ${`<cache>/node-${NODE_VERSION}`} by hand (bin/node) and create the file .complete in it`);
	}
	return `node-${platform}-${arch}`;
}

function nodeWorks(dir: string): boolean {
	const r = spawnSync(path.join(dir, 'bin', 'node'), ['--version'], { encoding: 'utf8', timeout: 30_000 });
	return r.status === 0 && r.stdout.trim() === `v${NODE_VERSION}`;
}

async function installNode(rt: Runtime, log: (line: string) => void): Promise<void> {
	if (fs.existsSync(rt.nodeDir)) {
		if (nodeWorks(rt.nodeDir)) {
			writeMarker(rt.nodeDir, { node: NODE_VERSION, adopted: true });
			log(`[runtime] adopted existing Node ${NODE_VERSION} in ${rt.nodeDir}`);
			return;
		}
		discard(rt.nodeDir, log, `does not run Node ${NODE_VERSION}`);
	}
	const pkg = `${nodePackageName()}@${NODE_VERSION}`;
	const t0 = Date.now();
	log(`[runtime] first use: installing Node ${NODE_VERSION} (npm package ${pkg}, ~50 MB download) into ${rt.nodeDir}`);
	const work = scratch(rt, 'node');
	const logFile = logFileFor(rt, 'install-node');
	await run(npmCmd, ['pack', pkg, '--pack-destination', work, '--silent'], { cwd: work, log, what: `downloading ${pkg}`, logFile });
	const tgz = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
	if (!tgz) throw new Error(`npm pack ${pkg} produced no tarball (log: ${logFile})`);
	const dest = path.join(work, 'node');
	fs.mkdirSync(dest);
	await run('tar', ['-xzf', path.join(work, tgz), '-C', dest, '--strip-components=1'], { cwd: work, log, what: 'unpacking Node', logFile });
	if (!nodeWorks(dest)) throw new Error(`The unpacked ${pkg} does not run (${path.join(dest, 'bin', 'node')} --version)`);
	writeMarker(dest, { node: NODE_VERSION, package: pkg });
	fs.renameSync(dest, rt.nodeDir);
	fs.rmSync(work, { recursive: true, force: true });
	log(`[runtime] Node ${NODE_VERSION} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
}

// ---------------------------------------------------------------------------------------------
// n8n
// ---------------------------------------------------------------------------------------------

/** Loads sqlite3 from `fromDir` under Node 24 and runs a query; returns the SQLite version or throws. */
export function verifySqlite3(rt: Runtime, fromDir: string): string {
	const script =
		"const s=require(require.resolve('sqlite3',{paths:[process.argv[1]]}));" +
		"const db=new s.Database(':memory:');" +
		"db.get('select sqlite_version() v',(e,r)=>{if(e){console.error(e);process.exit(1)}console.log(r.v);db.close()})";
	const r = spawnSync(rt.nodeBin, ['-e', script, fromDir], { encoding: 'utf8', timeout: 60_000 });
	if (r.status !== 0) throw new Error(`sqlite3 does not load under Node ${NODE_VERSION} from ${fromDir}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
	return r.stdout.trim();
}

function n8nWorks(rt: Runtime, dir: string): boolean {
	const bin = path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	const r = spawnSync(rt.nodeBin, [bin, '--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...rt.env } });
	if (r.status !== 0 || r.stdout.trim() !== N8N_VERSION) return false;
	try {
		verifySqlite3(rt, dir);
		return true;
	} catch {
		return false;
	}
}

function freeBytes(dir: string): number | null {
	try {
		const s = fs.statfsSync(dir);
		return s.bavail * s.bsize;
	} catch {
		return null;
	}
}

/** "N of ~2400 packages resolved/fetched, M unpacked" from npm's http log and node_modules. */
function installProgress(logFile: string, nodeModules: string): string {
	let fetched = 0;
	try {
		fetched = (fs.readFileSync(logFile, 'utf8').match(/http fetch GET/g) ?? []).length;
	} catch {
		// no log yet
	}
	const unpacked = countPackages(nodeModules);
	return `${fetched} registry requests${unpacked ? `, ${unpacked} packages unpacked` : ''} (n8n has ~2400 packages)`;
}

function countPackages(nodeModules: string): number {
	try {
		let n = 0;
		for (const e of fs.readdirSync(nodeModules)) {
			if (e.startsWith('.')) continue;
			n += e.startsWith('@') ? fs.readdirSync(path.join(nodeModules, e)).length : 1;
		}
		return n;
	} catch {
		return 0;
	}
}

async function installN8n(rt: Runtime, log: (line: string) => void): Promise<void> {
	if (fs.existsSync(rt.n8nDir)) {
		if (n8nWorks(rt, rt.n8nDir)) {
			writeMarker(rt.n8nDir, { n8n: N8N_VERSION, node: NODE_VERSION, adopted: true });
			log(`[runtime] adopted existing n8n ${N8N_VERSION} in ${rt.n8nDir}`);
			return;
		}
		discard(rt.n8nDir, log, `is not a working n8n ${N8N_VERSION}`);
	}
	const free = freeBytes(rt.cacheDir);
	if (free !== null && free < N8N_MIN_FREE_BYTES) {
		throw new Error(`Not enough disk space for n8n ${N8N_VERSION} in ${rt.cacheDir}: ${(free / 1024 ** 3).toFixed(1)} GB free, about 4 GB needed. Set AD_N8N_CACHE to a bigger disk.`);
	}
	const t0 = Date.now();
	log(`[runtime] first use: installing n8n ${N8N_VERSION} into ${rt.n8nDir} — about 3 GB and 5 minutes, once`);
	const work = scratch(rt, 'n8n');
	const logFile = logFileFor(rt, 'install-n8n');
	log(`[runtime] npm output goes to ${logFile}`);
	fs.writeFileSync(
		path.join(work, 'package.json'),
		`${JSON.stringify({ name: 'n8n-runtime', private: true, description: `n8n ${N8N_VERSION} for the e2e tests of n8n-nodes-auto-delivery` }, null, 2)}\n`,
	);
	// npm itself is the system one; with Node 24 first on PATH every script and node-gyp run on Node 24.
	const env = { ...process.env, ...rt.env, npm_config_update_notifier: 'false' };
	// --ignore-scripts: with scripts on, a Kafka addon tries to download zlib (no network) and fails;
	// the one native module n8n needs that has no prebuilt binary, sqlite3, is rebuilt right after.
	await run(
		npmCmd,
		['install', `n8n@${N8N_VERSION}`, '--save-exact', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=http'],
		{ cwd: work, env, log, logFile, what: `npm install n8n@${N8N_VERSION}`, progress: () => installProgress(logFile, path.join(work, 'node_modules')) },
	);
	log(`[runtime] n8n downloaded in ${Math.round((Date.now() - t0) / 1000)} s; building sqlite3 for Node ${NODE_VERSION} (~1.5 min)`);
	// Headers from the Node 24 package itself: no download from nodejs.org.
	await run(npmCmd, ['rebuild', 'sqlite3', `--nodedir=${rt.nodeDir}`, '--foreground-scripts'], { cwd: work, env, log, logFile, what: 'building sqlite3' });
	if (!n8nWorks(rt, work)) throw new Error(`The fresh n8n install in ${work} does not run (n8n --version / sqlite3); log: ${logFile}`);
	writeMarker(work, { n8n: N8N_VERSION, node: NODE_VERSION });
	fs.chmodSync(work, 0o755); // mkdtemp made it private
	fs.renameSync(work, rt.n8nDir);
	log(`[runtime] n8n ${N8N_VERSION} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
}

// ---------------------------------------------------------------------------------------------
// sqlite3 bindings for package installs
// ---------------------------------------------------------------------------------------------

export interface BindingSource {
	/** A node_sqlite3.node known to load under Node 24 for this sqlite3 version. */
	file: string;
	/** Where it came from: 'cache', 'n8n' (n8n's own sqlite3), 'repo' (this repository's node_modules). */
	source: 'cache' | 'n8n' | 'repo';
}

function bindingDir(rt: Runtime, version: string): string {
	return path.join(rt.cacheDir, 'bindings', `sqlite3-${version}-napi-${process.platform}-${process.arch}`);
}

function sqlite3Version(pkgDir: string): string | null {
	try {
		return (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
	} catch {
		return null;
	}
}

/**
 * A prebuilt binding for sqlite3 `version`, or null (then build from source and `storeSqlite3Binding`).
 * sqlite3 5.x is an N-API addon (napi_versions 3 and 6): one binary serves every Node version, so a
 * binding of the same sqlite3 version is the same code whichever Node it was compiled under. It is
 * still loaded under Node 24 before it is used (by the caller, in place).
 */
export function findSqlite3Binding(rt: Runtime, version: string, repoRoot: string): BindingSource | null {
	const cached = path.join(bindingDir(rt, version), 'node_sqlite3.node');
	if (isComplete(bindingDir(rt, version)) && fs.existsSync(cached)) return { file: cached, source: 'cache' };
	const candidates: Array<[string, BindingSource['source']]> = [
		[path.join(rt.n8nDir, 'node_modules', 'sqlite3'), 'n8n'],
		[path.join(repoRoot, 'node_modules', 'sqlite3'), 'repo'],
	];
	for (const [dir, source] of candidates) {
		const file = path.join(dir, 'build', 'Release', 'node_sqlite3.node');
		if (sqlite3Version(dir) === version && fs.existsSync(file)) return { file, source };
	}
	return null;
}

/** Keeps a binding that was verified under Node 24 for the next installs. */
export function storeSqlite3Binding(rt: Runtime, version: string, file: string, origin: string): void {
	const dir = bindingDir(rt, version);
	if (isComplete(dir)) return;
	fs.mkdirSync(path.dirname(dir), { recursive: true });
	const work = fs.mkdtempSync(`${dir}.tmp-`);
	fs.copyFileSync(file, path.join(work, 'node_sqlite3.node'));
	writeMarker(work, { sqlite3: version, origin, verifiedUnder: `node ${NODE_VERSION}` });
	try {
		fs.renameSync(work, dir);
	} catch {
		fs.rmSync(work, { recursive: true, force: true }); // another process stored it first
	}
}

export { sqlite3Version };
