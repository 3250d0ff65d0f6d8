/**
 * The package as users get it: `npm run build` + `npm pack` of this repository into a temp dir.
 *
 * The e2e globalSetup packs once and exports the path as AD_E2E_TARBALL; packTarball() returns
 * that file when it exists (set AD_E2E_TARBALL yourself to test a given tarball, e.g. one
 * downloaded from the registry).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface PackOptions {
	log?: (line: string) => void;
	/** Default: a fresh temp dir (kept; it is small). */
	outDir?: string;
	/** Ignore AD_E2E_TARBALL and pack anew. */
	fresh?: boolean;
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		child.stdout.on('data', (c: Buffer) => (out += c.toString()));
		child.stderr.on('data', (c: Buffer) => (err += c.toString()));
		child.on('error', reject);
		child.on('exit', (code) => {
			if (code === 0) resolve(out);
			else reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${(out + err).split('\n').slice(-40).join('\n')}`));
		});
	});
}

let memo: Promise<string> | undefined;

/** Builds and packs the repository; returns the absolute path of the .tgz. */
export function packTarball(opts: PackOptions = {}): Promise<string> {
	const given = process.env.AD_E2E_TARBALL;
	if (!opts.fresh && given && fs.existsSync(given)) return Promise.resolve(given);
	if (!opts.fresh && memo) return memo;
	const p = (async () => {
		const log = opts.log ?? (() => undefined);
		const t0 = Date.now();
		const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
		log('[pack] npm run build');
		await run(npm, ['run', 'build'], REPO_ROOT);
		const outDir = opts.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ad-e2e-pack-'));
		fs.mkdirSync(outDir, { recursive: true });
		// --ignore-scripts: prepack would only build a second time.
		const json = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', outDir], REPO_ROOT);
		const parsed = JSON.parse(json.slice(json.indexOf('['))) as Array<{ filename: string }>;
		const file = path.join(outDir, parsed[0].filename);
		if (!fs.existsSync(file)) throw new Error(`npm pack reported ${file}, which does not exist`);
		log(`[pack] ${file} (${Math.round(fs.statSync(file).size / 1024)} kB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		return file;
	})();
	if (!opts.fresh) {
		memo = p;
		p.catch(() => (memo = undefined));
	}
	return p;
}
