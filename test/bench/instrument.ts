/**
 * Times every statement sent to the database at the driver level (sqlite3 Database#run/all/get/exec
 * and prepared Statement#run/all/get, pg Client#query), so BEGIN / COMMIT and statements sent on a
 * raw pooled connection are counted too (knex's query events miss both). Active until the returned `stop()` is called. Bench only.
 */
import { performance } from 'perf_hooks';

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

function sqlOf(arg: unknown): string {
	if (typeof arg === 'string') return arg;
	if (arg && typeof arg === 'object' && typeof (arg as { text?: unknown }).text === 'string') return (arg as { text: string }).text;
	return String(arg);
}

function wrap(proto: Record<string, unknown>, method: string, onDone: (sql: string, ms: number) => void, sqlFromThis = false): () => void {
	const own = Object.prototype.hasOwnProperty.call(proto, method);
	const orig = proto[method] as AnyFn;
	proto[method] = function (this: unknown, ...args: unknown[]) {
		const t = performance.now();
		// a prepared sqlite3 Statement carries its SQL; a Database / pg Client call gets it as first argument
		const sql = sqlFromThis ? String((this as { sql?: unknown }).sql) : sqlOf(args[0]);
		const last = args.length - 1;
		if (last >= 0 && typeof args[last] === 'function') {
			const cb = args[last] as AnyFn;
			args[last] = function (this: unknown, ...r: unknown[]) {
				onDone(sql, performance.now() - t);
				return cb.apply(this, r);
			};
			return orig.apply(this, args);
		}
		const res = orig.apply(this, args);
		if (res && typeof (res as Promise<unknown>).then === 'function' && method === 'query') {
			(res as Promise<unknown>).then(
				() => onDone(sql, performance.now() - t),
				() => onDone(sql, performance.now() - t),
			);
		}
		return res;
	};
	return () => {
		if (own) proto[method] = orig;
		else delete proto[method];
	};
}

export function timeStatements(kind: string, onDone: (sql: string, ms: number) => void): () => void {
	const undo: Array<() => void> = [];
	if (kind === 'sqlite') {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const proto = require('sqlite3').Database.prototype as Record<string, unknown>;
		for (const m of ['run', 'all', 'get', 'exec']) undo.push(wrap(proto, m, onDone));
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const stmt = require('sqlite3').Statement.prototype as Record<string, unknown>;
		for (const m of ['run', 'all', 'get']) undo.push(wrap(stmt, m, onDone, true));
	} else if (kind === 'postgres') {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		undo.push(wrap(require('pg').Client.prototype as Record<string, unknown>, 'query', onDone));
	}
	return () => {
		for (const u of undo.reverse()) u();
	};
}
