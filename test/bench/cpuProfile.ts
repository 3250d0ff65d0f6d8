/**
 * CPU profiles of a running n8n through the V8 inspector (n8n started with
 * `--inspect=127.0.0.1:<port>`; the bench runs on Node 20 with `--experimental-websocket` for the
 * global WebSocket), and where their time goes:
 *
 *   - self time by place: our package by file (`ours: nodes/core/store/claims.js`), n8n by package
 *     (`n8n-core`, `n8n-workflow`, `n8n (cli)`, `@n8n/…`), other packages by name, Node's internals,
 *     the garbage collector, `(program)` (V8 outside JS: compiling, the event loop, native code);
 *   - inclusive time under each of our nodes: samples whose stack holds a frame of our package,
 *     by the outermost such frame's place (a node's folder, or a core domain when an await resumed
 *     there), and what those samples were doing at the leaf (our own code, n8n's expression engine
 *     called through getNodeParameter, knex, sqlite3, nodemailer, …).
 *
 * Profiles are saved as .cpuprofile files (open them in Chrome DevTools → Performance, or VS Code).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
	functionName: string;
	url: string;
	lineNumber: number;
}
interface ProfileNode {
	id: number;
	callFrame: CallFrame;
	parent?: number;
	children?: number[];
}
export interface CpuProfile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples: number[];
	timeDeltas: number[];
}

/** One inspector session on n8n's main process. */
export class Inspector {
	private seq = 0;
	private readonly pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

	private constructor(private readonly ws: WebSocket) {
		ws.addEventListener('message', (ev: MessageEvent) => {
			const msg = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
			if (msg.id === undefined) return;
			const p = this.pending.get(msg.id);
			if (!p) return;
			this.pending.delete(msg.id);
			if (msg.error) p.reject(new Error(msg.error.message));
			else p.resolve(msg.result ?? {});
		});
	}

	static async connect(port: number): Promise<Inspector> {
		if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket: run the bench with `node --experimental-websocket` (npm run bench:e2e does)');
		const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
		const ws = new WebSocket(list[0].webSocketDebuggerUrl);
		await new Promise<void>((resolve, reject) => {
			ws.addEventListener('open', () => resolve());
			ws.addEventListener('error', () => reject(new Error(`inspector on port ${port}: connection failed`)));
		});
		const inspector = new Inspector(ws);
		await inspector.send('Profiler.enable');
		// 250 µs: fine enough for ~1 ms node runs, cheap enough not to change the figures much.
		await inspector.send('Profiler.setSamplingInterval', { interval: 250 });
		return inspector;
	}

	send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
		const id = ++this.seq;
		this.ws.send(JSON.stringify({ id, method, params }));
		return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
	}

	async profile<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
		await this.send('Profiler.start');
		const result = await work();
		const { profile } = (await this.send('Profiler.stop')) as unknown as { profile: CpuProfile };
		return { result, profile };
	}

	close(): void {
		this.ws.close();
	}
}

// ------------------------------------------------------------------------------------------------
// Where the time goes

const OUR_PACKAGE = '/n8n-nodes-auto-delivery/';

/** A short name of the place a frame's code lives. */
export function placeOf(frame: CallFrame): string {
	const { url, functionName } = frame;
	if (!url) {
		if (functionName === '(garbage collector)' || functionName === '(program)' || functionName === '(idle)') return functionName;
		return '(native)';
	}
	const u = url.replace(/^file:\/\//, '');
	const ours = u.indexOf(OUR_PACKAGE);
	if (ours >= 0) return `ours: ${u.slice(ours + OUR_PACKAGE.length).replace(/^dist\//, '')}`;
	if (u.startsWith('node:')) return 'node (internals)';
	const nm = u.lastIndexOf('/node_modules/');
	if (nm >= 0) {
		const rest = u.slice(nm + '/node_modules/'.length).split('/');
		const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
		return pkg === 'n8n' ? 'n8n (cli)' : pkg;
	}
	return u;
}

/** The place of our code one level up: a node's folder (`nodes/ClaimKey`) or a core domain (`nodes/core/store`). */
function ourArea(place: string): string {
	const p = place.slice('ours: '.length).split('/');
	if (p[0] !== 'nodes') return p.slice(0, 1).join('/');
	if (p[1] === 'core' && p.length > 3) return `nodes/core/${p[2]}`;
	return `nodes/${p[1]}`;
}

export interface ProfileSummary {
	/** Sampled milliseconds (idle excluded). */
	busyMs: number;
	idleMs: number;
	/** Self time by place, ms, descending. */
	self: Array<[string, number]>;
	/** Samples with one of our frames on the stack, by the outermost one's area, ms. */
	underOurs: Array<[string, number]>;
	/** Those samples by the leaf's place (what our code was waiting on or calling into), ms. */
	underOursLeaf: Array<[string, number]>;
	/** Self time by function (place + name + line), ms, descending. */
	functions: Array<[string, number]>;
}

export function summarize(profile: CpuProfile): ProfileSummary {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
	const self = new Map<string, number>();
	const fns = new Map<string, number>();
	const under = new Map<string, number>();
	const underLeaf = new Map<string, number>();
	let busy = 0;
	let idle = 0;
	profile.samples.forEach((id, i) => {
		const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
		const leaf = byId.get(id)!;
		const leafPlace = placeOf(leaf.callFrame);
		if (leafPlace === '(idle)') {
			idle += ms;
			return;
		}
		busy += ms;
		add(self, leafPlace, ms);
		add(fns, `${leafPlace} ${leaf.callFrame.functionName || '(anonymous)'}:${leaf.callFrame.lineNumber + 1}`, ms);
		let outermost: string | undefined;
		for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
			const place = placeOf(byId.get(cur)!.callFrame);
			if (place.startsWith('ours: ')) outermost = place;
		}
		if (outermost) {
			add(under, ourArea(outermost), ms);
			add(underLeaf, leafPlace.startsWith('ours: ') ? `ours (${ourArea(leafPlace)})` : leafPlace, ms);
		}
	});
	const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
	return { busyMs: busy, idleMs: idle, self: sorted(self), underOurs: sorted(under), underOursLeaf: sorted(underLeaf), functions: sorted(fns) };
}

/** Lines for the report: per-order milliseconds of the biggest entries. */
export function formatSummary(title: string, s: ProfileSummary, orders: number, top = 15): string {
	const per = (ms: number) => (ms / orders).toFixed(2).padStart(7);
	const ours = s.underOurs.reduce((a, [, ms]) => a + ms, 0);
	const lines = [
		`${title}: ${orders} requests, ${per(s.busyMs).trim()} ms of n8n main-process CPU per request (sampled; idle excluded)`,
		`  under our nodes (a frame of this package on the stack): ${per(ours).trim()} ms per request`,
		...s.underOurs.slice(0, 8).map(([k, ms]) => `    ${per(ms)}  ${k}`),
		`  … of which, at the leaf:`,
		...s.underOursLeaf.slice(0, 10).map(([k, ms]) => `    ${per(ms)}  ${k}`),
		`  self time by place (all of n8n):`,
		...s.self.slice(0, top).map(([k, ms]) => `    ${per(ms)}  ${k}`),
		`  hottest functions:`,
		...s.functions.slice(0, top).map(([k, ms]) => `    ${per(ms)}  ${k}`),
	];
	return lines.join('\n');
}

export function saveProfile(dir: string, name: string, profile: CpuProfile): string {
	fs.mkdirSync(dir, { recursive: true });
	const file = path.join(dir, `${name}.cpuprofile`);
	fs.writeFileSync(file, JSON.stringify(profile));
	return file;
}
