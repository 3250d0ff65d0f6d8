/** Removes the tarball directory globalSetup packed into (never a tarball given in AD_E2E_TARBALL). */
import * as fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
	const dir = process.env.AD_E2E_PACKED_DIR;
	if (dir && /ad-e2e-pack-/.test(dir)) fs.rmSync(dir, { recursive: true, force: true });
}
