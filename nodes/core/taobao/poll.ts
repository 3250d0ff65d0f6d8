/**
 * The cursor machinery of a polling trigger, for any shop whose API lists orders by modified time
 * in pages (Taobao's taobao.trades.sold.increment.get today; another shop's order list later: give
 * it a `PageSource`). No n8n here: the state is plain JSON the node keeps in the workflow's static
 * data.
 *
 *   state.cursor ──────────────── now - settle
 *        │ window 1 (≤ maxWindow) │ window 2 │ …
 *   start = cursor - overlap
 *
 * - Windows of at most `maxWindowMs` (TOP: one day between start_modified and end_modified), up to
 *   `now - settleMs`, never in the future: a trade modified after the end of a window leaves it
 *   and is read by a later window.
 * - Each window is read from its LAST page back to the first. TOP lists newest first; a trade that
 *   leaves the window while we read (modified again, or no longer paid) shifts only the items after
 *   it — pages already read — so nothing is skipped, at worst read twice (the documented way:
 *   "通过从后往前翻页的方式可以避免漏单问题", increment.get's page).
 * - Every poll re-reads `overlapMs` before the cursor: a trade committed late with an older
 *   modified time is still found. What was emitted is remembered (`seen`: key → when, 24 hours and
 *   20000 keys by default) and not emitted again, also when it changes later (a buyer's memo);
 *   after that it is forgotten and the idempotency of `(shop, orderId, sku)` does the rest.
 * - The cursor moves only after the whole page set of a window was handed off (`handOff` resolved).
 *   A crash or an error mid-walk hands off nothing for that window and leaves the cursor where it
 *   was: the next poll reads the window again.
 * - Overlapping polls: a poll holds `state.busyUntil` while it walks; another poll that starts
 *   meanwhile (n8n's cron firing while a slow poll still runs) returns without reading. A hold
 *   left by another process (n8n crashed mid-poll and the static data was saved meanwhile) is not
 *   waited for; a stuck hold of this process expires after `holdMs`.
 */
import { randomUUID } from 'node:crypto';

import { ValidationError } from '../errors';

/** This process: a hold left in the static data by another (crashed) process is not waited for. */
const PROCESS_ID = randomUUID();

export interface PollState {
	v: 1;
	/** Epoch ms: everything modified before it was handed off (minus the overlap). */
	cursor: number;
	/** Emitted recently: key → when (epoch ms of the poll that emitted it). */
	seen: Record<string, number>;
	/** A poll is walking until then (epoch ms); 0 when none. */
	busyUntil: number;
	/** The process whose poll holds `busyUntil`. */
	busyBy?: string;
}

export interface PageSource<T> {
	/** One page (1-based) of items modified in [start, end], and how many the window holds in all. */
	page(window: { start: number; end: number }, pageNo: number, pageSize: number): Promise<{ items: T[]; total: number }>;
	/** The identity of an item (a trade's tid). */
	key(item: T): string;
	/** Its modified time, epoch ms. */
	modified(item: T): number;
}

export interface PollOptions {
	now: number;
	/** Longest window a request may ask for. TOP: one day. */
	maxWindowMs: number;
	/** Re-read before the cursor on every poll (late commits). Default 5 minutes. */
	overlapMs?: number;
	/** Windows end this long before now (the platform's index lags). Default 60 s. */
	settleMs?: number;
	/** Where a first poll starts, back from now. Default 1 hour. */
	lookBackMs?: number;
	pageSize: number;
	/** Windows read per poll at most (catching up after a pause). Default 7. */
	maxWindows?: number;
	/** How long a poll holds the state while it walks. Default 10 minutes. */
	holdMs?: number;
	/** How long an emitted key is remembered (not emitted again when it changes). Default 24 hours, at least the overlap. */
	rememberMs?: number;
	/** Most keys remembered (the oldest are forgotten first). Default 20000. */
	maxRemembered?: number;
}

/**
 * The static data's state itself (the same object, so a poll that overlaps another one sees its
 * hold and the other's progress is never overwritten by a copy), or a fresh one when there is
 * none or it cannot be read (starting over from `lookBack`).
 */
export function pollState(raw: unknown, now: number, lookBackMs: number): PollState {
	const o = raw as Partial<PollState> | null | undefined;
	if (o && o.v === 1 && Number.isFinite(o.cursor) && typeof o.seen === 'object' && o.seen !== null && !Array.isArray(o.seen)) {
		if (!Number.isFinite(o.busyUntil)) o.busyUntil = 0;
		return o as PollState;
	}
	return { v: 1, cursor: now - lookBackMs, seen: {}, busyUntil: 0 };
}

export interface PollResult<T> {
	/** Items handed off by this poll (new ones only). */
	emitted: T[];
	/** Windows read completely. */
	windows: number;
	/** Another poll held the state: nothing was read. */
	skipped: boolean;
	/** The error that stopped the poll: windows before it were handed off and advanced the cursor, the failed one was not. */
	error: unknown;
}

/** The page numbers of a window, last first. */
export function pagesBackwards(total: number, pageSize: number): number[] {
	const pages = Math.max(1, Math.ceil(total / pageSize));
	return Array.from({ length: pages }, (_, i) => pages - i);
}

/**
 * One poll: reads the windows from the cursor (minus the overlap) to `now - settle`, hands each
 * window's new items to `handOff` (default: collected into `emitted`, which the trigger returns to
 * n8n — the hand-off) and only then advances `state` (mutated in place — it is the static data).
 * An error stops the poll and is returned with what the windows before it handed off: a trigger
 * must emit those (their cursor moved) and may report the error when there are none.
 */
export async function poll<T>(state: PollState, source: PageSource<T>, opts: PollOptions, handOff: (items: T[]) => Promise<void> = async () => {}): Promise<PollResult<T>> {
	const overlap = Math.max(0, opts.overlapMs ?? 300_000);
	const settle = Math.max(0, opts.settleMs ?? 60_000);
	const maxWindows = Math.max(1, opts.maxWindows ?? 7);
	if (!(opts.maxWindowMs > 0)) throw new ValidationError('maxWindowMs', 'The poll window must be longer than 0.');
	if (!Number.isInteger(opts.pageSize) || opts.pageSize < 1) throw new ValidationError('pageSize', 'Page Size must be a whole number ≥ 1.');
	if (state.busyUntil > opts.now && state.busyBy === PROCESS_ID) return { emitted: [], windows: 0, skipped: true, error: null };
	state.busyUntil = opts.now + Math.max(1000, opts.holdMs ?? 600_000);
	state.busyBy = PROCESS_ID;
	const emitted: T[] = [];
	let windows = 0;
	let error: unknown = null;
	try {
		// whole seconds: shops list modified times to the second (TOP: yyyy-MM-dd HH:mm:ss), so a window
		// ending mid-second would leave the rest of that second behind the cursor
		const until = Math.floor((opts.now - settle) / 1000) * 1000;
		let start = state.cursor - overlap;
		while (windows < maxWindows && start < until) {
			const end = Math.min(start + opts.maxWindowMs, until);
			let fresh: T[];
			try {
				fresh = await readWindow(source, { start, end }, opts.pageSize, state.seen);
				if (fresh.length > 0) await handOff(fresh);
			} catch (err) {
				error = err; // this window is read again by the next poll
				break;
			}
			for (const item of fresh) state.seen[source.key(item)] = opts.now;
			emitted.push(...fresh);
			windows++;
			// the cursor is the window's end; the next window starts `overlap` before it
			state.cursor = Math.max(state.cursor, end);
			start = end;
			if (end >= until) break;
		}
		const forgetBefore = opts.now - Math.max(overlap, opts.rememberMs ?? 24 * 3600_000);
		for (const [k, m] of Object.entries(state.seen)) if (!(m >= forgetBefore)) delete state.seen[k];
		const keys = Object.keys(state.seen);
		const max = Math.max(1, opts.maxRemembered ?? 20_000);
		if (keys.length > max) for (const k of keys.sort((a, b) => state.seen[a] - state.seen[b]).slice(0, keys.length - max)) delete state.seen[k];
		return { emitted, windows, skipped: false, error };
	} finally {
		state.busyUntil = 0;
		delete state.busyBy;
	}
}

/** Every item of one window, last page first, without repeats and without what `seen` already has (emitted within the overlap). */
async function readWindow<T>(source: PageSource<T>, window: { start: number; end: number }, pageSize: number, seen: Record<string, number>): Promise<T[]> {
	const first = await source.page(window, 1, pageSize);
	const pages = pagesBackwards(first.total, pageSize);
	const byKey = new Map<string, T>();
	const take = (items: T[]) => {
		for (const item of items) {
			const key = source.key(item);
			const m = source.modified(item);
			if (seen[key] !== undefined) continue;
			const had = byKey.get(key);
			if (!had || source.modified(had) < m) byKey.set(key, item);
		}
	};
	// page 1 was read to learn the total; with more pages it is read again last (items may have moved onto it)
	for (const pageNo of pages.length === 1 ? [] : pages) take((await source.page(window, pageNo, pageSize)).items);
	take(first.items);
	// oldest first: the order the shop saw them change
	return [...byKey.values()].sort((a, b) => source.modified(a) - source.modified(b));
}
