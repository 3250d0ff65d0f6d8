import { open as openFile } from 'fs/promises';

import type { IBinaryData, IExecuteFunctions } from 'n8n-workflow';

/**
 * Overwrites n8n's stored copy of a consumed binary with zeros and empties it. n8n 2.x offers nodes
 * no way to delete a binary; in filesystem mode (n8n's default in regular mode) `getBinaryPath`
 * gives the file (<n8n folder>/storage/workflows/<workflow>/executions/<execution or temp>/binary_data/<uuid>).
 * The empty file stays, so n8n's own bookkeeping (moving it to the execution's folder, deleting it
 * with the execution) goes on as usual. Other modes (database, S3, `default` = inline in the
 * execution data) are out of a node's reach: there the file goes with the execution.
 */
export async function eraseStoredFile(ctx: IExecuteFunctions, binary: IBinaryData): Promise<void> {
	const [mode, fileId] = String(binary.id ?? '').split(':');
	if (!fileId || (mode !== 'filesystem' && mode !== 'filesystem-v2')) return;
	try {
		const handle = await openFile(ctx.helpers.getBinaryPath(binary.id as string), 'r+');
		try {
			const { size } = await handle.stat();
			const zeros = Buffer.alloc(Math.min(size, 1 << 20));
			for (let pos = 0; pos < size; pos += zeros.length) await handle.write(zeros, 0, Math.min(zeros.length, size - pos), pos);
			await handle.sync(); // the zeros reach the disk before the blocks are freed
			await handle.truncate(0);
			await handle.sync();
		} finally {
			await handle.close();
		}
	} catch (error) {
		ctx.logger.warn(`Key Pool: could not erase the imported file "${binary.fileName ?? fileId}": ${(error as Error).message}`);
	}
}
