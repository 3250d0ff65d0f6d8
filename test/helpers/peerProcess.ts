/**
 * Separate-process mode shared by the test peers (shopServer.ts, smtpServer.ts): the peer prints
 * `{"type":"ready",…}` on stdout, then one line per recorded request or mail, reads JSON commands
 * from stdin (`{"type":"clear"}` and the peer's own fault commands), and stops on stdin close,
 * SIGTERM or SIGINT.
 */
import * as readline from 'node:readline';

export interface PeerProcess {
	/** What the peer recorded so far (requests, mails); new entries are reported every 50 ms. */
	records: readonly unknown[];
	/** Line type of one record: `{ type, [type]: record }`. */
	recordType: string;
	ready: Record<string, unknown>;
	/** A command other than `clear`. */
	command(cmd: Record<string, unknown>): void;
	clear(): void;
	close(): Promise<void>;
}

export function servePeerOverStdio(peer: PeerProcess): void {
	const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
	let reported = 0;
	const report = () => {
		while (reported < peer.records.length) out({ type: peer.recordType, [peer.recordType]: peer.records[reported++] });
	};
	const poll = setInterval(report, 50);
	out({ type: 'ready', ...peer.ready });
	const stop = async () => {
		clearInterval(poll);
		report();
		await peer.close();
		process.exit(0);
	};
	const rl = readline.createInterface({ input: process.stdin });
	rl.on('line', (line) => {
		try {
			const cmd = JSON.parse(line) as Record<string, unknown>;
			if (cmd.type === 'clear') {
				peer.clear();
				reported = 0;
			} else peer.command(cmd);
		} catch {
			// ignore malformed lines
		}
	});
	rl.on('close', () => void stop());
	process.once('SIGTERM', () => void stop());
	process.once('SIGINT', () => void stop());
}

/** Runs a peer's main() when its file is executed directly. */
export function runMain(mod: NodeModule, main: () => Promise<void>): void {
	if (require.main !== mod) return;
	main().catch((err) => {
		process.stderr.write(`${String(err)}\n`);
		process.exit(1);
	});
}
