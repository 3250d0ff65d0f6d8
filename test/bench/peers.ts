/**
 * The benchmark's peers in their own OS processes (test/helpers/smtpServer.ts and shopServer.ts in
 * their stdio mode): the load client, the SMTP server and the shop never share an event loop, so a
 * busy client does not delay the moment a mail or a ship call is stamped as received. Each record
 * carries `at` = Date.now() in the peer's process (same machine clock as the client's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { ShopRequest } from '../helpers/shopServer';
import type { ReceivedMail } from '../helpers/smtpServer';

const ROOT = path.resolve(__dirname, '..', '..');

export interface PeerChild<R> {
	ready: Record<string, unknown>;
	/** Every record reported so far (reported every 50 ms by the peer). */
	records: R[];
	pid: number;
	close(): Promise<void>;
}

function startPeer<R>(script: string, recordType: string): Promise<PeerChild<R>> {
	const child: ChildProcess = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, script)], {
		cwd: ROOT,
		env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: path.join(ROOT, 'test', 'tsconfig.json') },
		stdio: ['pipe', 'pipe', 'inherit'],
	});
	const records: R[] = [];
	return new Promise((resolve, reject) => {
		const exited = new Promise<void>((r) => child.once('exit', () => r()));
		child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
		readline.createInterface({ input: child.stdout! }).on('line', (line) => {
			let msg: Record<string, unknown>;
			try {
				msg = JSON.parse(line) as Record<string, unknown>;
			} catch {
				return;
			}
			if (msg.type === 'ready') {
				resolve({
					ready: msg,
					records,
					pid: child.pid!,
					close: async () => {
						child.stdin!.end();
						const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
						await exited;
						clearTimeout(timer);
					},
				});
			} else if (msg.type === recordType) records.push(msg[recordType] as R);
		});
	});
}

export const startSmtpPeer = () => startPeer<ReceivedMail>('test/helpers/smtpServer.ts', 'mail');
export const startShopPeer = () => startPeer<ShopRequest>('test/helpers/shopServer.ts', 'request');
