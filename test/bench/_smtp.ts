import * as net from 'node:net';
const orig = net.Socket.prototype.connect;
if (process.env.NODELAY) (net.Socket.prototype as any).connect = function (this: net.Socket, ...args: unknown[]) { this.setNoDelay(true); return (orig as any).apply(this, args); };
import { sendMail } from '../../nodes/core/outbound';
import { startSmtpPeer } from './peers';
(async () => {
	const peer = await startSmtpPeer();
	const cfg = { host: '127.0.0.1', port: Number(peer.ready.port), security: 'none' as const, from: 'a@example.com' };
	const all: number[] = [];
	for (let i = 0; i < 30; i++) {
		const t0 = process.hrtime.bigint();
		await sendMail(cfg, { to: `b${i}@example.com`, subject: 'Order X', text: 'hello '.repeat(50), html: null } as never);
		all.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	console.log(process.env.NODELAY ? 'nodelay' : 'default', all.slice(5).sort((a, b) => a - b)[12].toFixed(1), 'ms median');
	await peer.close();
	process.exit(0);
})();
