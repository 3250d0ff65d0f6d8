/**
 * Once per `npm run test:e2e`: make sure the runtime (Node 24 + n8n 2.41.1) is in the cache —
 * installing it on first use, with progress on stderr — and pack the package once. The tarball
 * path is handed to the test files in AD_E2E_TARBALL (jest runs them in this process with --runInBand,
 * or in workers forked after this, which inherit the environment).
 */
import * as path from 'node:path';

import { packTarball } from './pack';
import { ensureRuntime } from './runtime';

export default async function globalSetup(): Promise<void> {
	const log = (line: string) => process.stderr.write(`${line}\n`);
	const t0 = Date.now();
	const rt = await ensureRuntime({ log });
	log(`\n[e2e] runtime: Node ${rt.nodeVersion}, n8n ${rt.n8nVersion} from ${rt.cacheDir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
	const given = process.env.AD_E2E_TARBALL;
	const tarball = await packTarball({ log });
	if (tarball !== given) process.env.AD_E2E_PACKED_DIR = path.dirname(tarball); // removed by globalTeardown
	else log(`[e2e] using AD_E2E_TARBALL=${given}`);
	process.env.AD_E2E_TARBALL = tarball;
}
