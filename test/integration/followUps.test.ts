/**
 * Follow-ups on SQLite, PostgreSQL and MariaDB: the due rule in SQL (only after N hours, only for
 * products with follow-ups on, never for revoked or unsent deliveries, not when far overdue),
 * "never twice" under concurrent takers in one process and across OS processes, a refund between
 * taking and sending, the failure rule (recorded, not retried, the run stops), and a real SMTP peer
 * receiving exactly one follow-up per delivery — without the key. Time is injected (`now`), never slept.
 */
import { FOLLOW_UP_TEMPLATES, runFollowUps, sendTakenFollowUp, takeNextFollowUp, prepareFollowUpChannel, type NotifyChannel } from '../../nodes/core/delivery';
import { closeAllTransports } from '../../nodes/core/outbound';
import { KeyStore, type Delivery } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, makeKeys, storeConfig, useStore } from '../helpers/db';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { raceTakers } from './workers/followUpWorker';

const HOUR = 3_600_000;
const REVIEW = 'https://shop.example.com/review?item=fu';

let smtp: SmtpPeer;
beforeAll(async () => {
	smtp = await startSmtpServer();
});
afterAll(async () => {
	closeAllTransports();
	await smtp?.close();
});
beforeEach(() => smtp.clear());

const email = (): NotifyChannel => ({ kind: 'email', smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Shop <shop@example.com>' } });

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'follow-ups', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		const keys: string[] = [];
		useStore(cfg, (s) => (store = s));
		// Each test counts only its own deliveries: what earlier tests left due is marked as followed up.
		beforeEach(async () => {
			await internals(store).db(internals(store).t.deliveries).whereNull('follow_up_at').update({ follow_up_at: 1 });
		});

		/** A product with `hours` follow-up (null: off) and `count` keys. */
		const product = async (sku: string, hours: number | null, count = 20) => {
			const k = makeKeys(count, sku);
			keys.push(...k);
			await store.importKeys({ sku, keys: k, productName: `Product ${sku}` });
			await store.upsertProduct({
				sku,
				settings: { followUpAfterHours: hours, reviewUrl: REVIEW, usageGuide: `Guide for ${sku}`, afterSaleNote: 'Reply within 7 days', recommended: ['Steam 100', 'Xbox 3M'] },
			});
		};
		/** Claims and records a send (sent_at = now); `to: null` records no buyer email. */
		const delivered = async (sku: string, to: string | null = `b${n + 1}@example.com`): Promise<Delivery> => {
			const r = await store.claim({ orderId: `FU-${kind}-${++n}`, sku, buyer: { name: `Buyer ${n}`, email: to } });
			if (!r.delivered) throw new Error(r.reason);
			const lease = await store.beginSend(r.delivery.id);
			if (lease.kind !== 'go') throw new Error(lease.kind);
			return store.markSent(r.delivery.id, lease.token, { channel: 'email', messageId: null });
		};
		const followUpAt = async (id: number) => {
			const row = await internals(store).db(internals(store).t.deliveries).where({ id }).first('follow_up_at');
			return row.follow_up_at === null ? null : Number(row.follow_up_at);
		};
		const dueIds = async (now: number, requireEmail = false) => (await store.followUps.due({ now, limit: 1000, requireEmail })).map((t) => t.delivery.id);
		const events = async (type: string, sku: string) => (await store.listEvents({ sku, type, limit: 1000 })).map((e) => e.deliveryId);

		it('is due only N hours after the send, only for products with follow-ups on, never when revoked or unsent, not when far overdue', async () => {
			await product('DUE-ON', 2);
			await product('DUE-OFF', null);
			const a = await delivered('DUE-ON');
			const b = await delivered('DUE-ON');
			const off = await delivered('DUE-OFF');
			const unsent = await store.claim({ orderId: `FU-${kind}-unsent`, sku: 'DUE-ON', buyer: { email: 'u@example.com' } });
			const shipped = await delivered('DUE-ON');
			const lease = await store.beginShip(shipped.id);
			if (lease.kind !== 'go') throw new Error(lease.kind);
			await store.markShipped(shipped.id, lease.token, { recordOnly: true });
			await store.revoke({ orderId: b.orderId });
			const t = Date.now();
			expect(await dueIds(t + 1.9 * HOUR)).toEqual([]);
			const due = await dueIds(t + 2 * HOUR + 1000);
			expect(due.sort()).toEqual([a.id, shipped.id].sort());
			expect(due).not.toContain(off.id);
			expect(due).not.toContain(b.id);
			if (unsent.delivered) expect(due).not.toContain(unsent.delivery.id);
			// more than a week overdue (default) or than maxLateHours: not due
			expect(await dueIds(t + (2 + 168) * HOUR + 60_000)).toEqual([]);
			expect((await store.followUps.due({ now: t + 5 * HOUR, maxLateHours: 2, limit: 10 })).map((x) => x.delivery.id)).toEqual([]);
			// taken → never due again; a revoked delivery cannot be taken
			expect(await store.followUps.take(a.id, t + 3 * HOUR)).toBe(true);
			expect(await store.followUps.take(a.id, t + 3 * HOUR)).toBe(false);
			expect(await store.followUps.take(b.id, t + 3 * HOUR)).toBe(false);
			expect(await dueIds(t + 3 * HOUR)).toEqual([shipped.id]);
			expect(await followUpAt(a.id)).toBe(t + 3 * HOUR);
		});

		it('never twice: six takers at once, and four OS processes at once, take every due delivery exactly once', async () => {
			await product('RACE', 1, 60);
			const ids: number[] = [];
			for (let i = 0; i < 24; i++) ids.push((await delivered('RACE')).id);
			const now = Date.now() + 2 * HOUR;
			const takeAll = async () => {
				const got: number[] = [];
				for (let t = await takeNextFollowUp(store, { now }); t; t = await takeNextFollowUp(store, { now })) if (t.delivery.sku === 'RACE') got.push(t.delivery.id);
				return got;
			};
			const half = ids.slice(0, 12);
			// the other half is not due yet in the first race: push its sends later
			await internals(store).db(internals(store).t.deliveries).whereIn('id', ids.slice(12)).update({ sent_at: now });
			const lanes = await Promise.all(Array.from({ length: 6 }, takeAll));
			const taken = lanes.flat();
			expect(taken.sort((x, y) => x - y)).toEqual([...half].sort((x, y) => x - y));
			expect(new Set(taken).size).toBe(taken.length);

			const later = now + 2 * HOUR;
			const perProcess = await raceTakers(cfg, [[{ now: later }, { now: later }], [{ now: later }, { now: later }], [{ now: later }, { now: later }], [{ now: later }, { now: later }]], 2);
			const byProcesses = perProcess.flat(2).filter((id) => ids.includes(id));
			expect(byProcesses.sort((x, y) => x - y)).toEqual(ids.slice(12).sort((x, y) => x - y));
			expect(await dueIds(later)).toEqual([]);
		});

		it('a real SMTP peer gets exactly one follow-up per delivery, with the review link and no key; running again sends none', async () => {
			await product('MAIL', 1);
			const a = await delivered('MAIL', 'alice@example.com');
			const b = await delivered('MAIL', 'bob@example.com');
			const none = await delivered('MAIL', null); // no buyer email: the email channel leaves it alone
			const now = Date.now() + 1.5 * HOUR;
			// four runs at once (two schedule runs, two workers): still one mail per delivery
			const runs = await Promise.all(Array.from({ length: 4 }, () => runFollowUps(store, { channel: email(), now })));
			const results = runs.flat().filter((r) => r.delivery.sku === 'MAIL');
			expect(results.map((r) => [r.delivery.id, r.outcome]).sort()).toEqual([[a.id, 'sent'], [b.id, 'sent']].sort());
			expect(smtp.messages.map((m) => m.to.join()).sort()).toEqual(['alice@example.com', 'bob@example.com']);
			for (const m of smtp.messages) {
				expect(m.subject).toContain('Product MAIL');
				expect(m.text).toContain('Did your key work?');
				expect(m.text).toContain(REVIEW);
				expect(m.text).toContain('Guide for MAIL');
				expect(m.text).toContain('Reply within 7 days');
				expect(m.text).toContain('Steam 100\nXbox 3M');
				expect(m.html).toContain(`href="${REVIEW}"`);
				expect(keys.filter((k) => m.raw.includes(k))).toEqual([]);
			}
			expect(results.find((r) => r.delivery.id === a.id)?.followUp).toMatchObject({ sent: true, channel: 'email', recipient: 'alice@example.com' });
			expect((await events('follow_up_sent', 'MAIL')).sort()).toEqual([a.id, b.id].sort());
			expect(await followUpAt(none.id)).toBeNull();
			expect(await runFollowUps(store, { channel: email(), now: now + HOUR })).toEqual([]);
			expect(smtp.messages).toHaveLength(2);
			// the events hold no key and no address
			const all = JSON.stringify(await store.listEvents({ sku: 'MAIL', limit: 100 }));
			expect(keys.filter((k) => all.includes(k))).toEqual([]);
		});

		it('a refund between taking and sending: nothing is sent (follow_up_skipped)', async () => {
			await product('REFUND', 1);
			const d = await delivered('REFUND', 'carol@example.com');
			const now = Date.now() + 2 * HOUR;
			const taken = await takeNextFollowUp(store, { now });
			expect(taken?.delivery.id).toBe(d.id);
			await store.revoke({ orderId: d.orderId });
			const r = await sendTakenFollowUp(store, taken!, prepareFollowUpChannel(email()));
			expect(r.outcome).toBe('skipped');
			expect(r.followUp).toMatchObject({ sent: false, skipped: 'revoked' });
			expect(smtp.messages).toEqual([]);
			expect(await events('follow_up_skipped', 'REFUND')).toEqual([d.id]);
			expect(await runFollowUps(store, { channel: email(), now: now + HOUR })).toEqual([]);
		});

		it('a failed send is recorded (follow_up_failed), stops the run and is never retried; the others go out next run', async () => {
			await product('FAIL', 1);
			const first = await delivered('FAIL', 'dan@example.com');
			const second = await delivered('FAIL', 'erin@example.com');
			const now = Date.now() + 2 * HOUR;
			smtp.setFault('reject');
			const failedRun = (await runFollowUps(store, { channel: email(), now })).filter((r) => r.delivery.sku === 'FAIL');
			expect(failedRun.map((r) => [r.delivery.id, r.outcome])).toEqual([[first.id, 'failed']]);
			expect(failedRun[0].followUp.error).toMatch(/Follow-up email to dan@example.com .*failed: .*not sent again/);
			expect(failedRun[0].error?.code).toBe('follow_up_failed');
			expect(await events('follow_up_failed', 'FAIL')).toEqual([first.id]);
			expect(await followUpAt(first.id)).toBe(now);
			expect(await followUpAt(second.id)).toBeNull();
			smtp.setFault('none');
			const next = (await runFollowUps(store, { channel: email(), now: now + HOUR })).filter((r) => r.delivery.sku === 'FAIL');
			expect(next.map((r) => [r.delivery.id, r.outcome])).toEqual([[second.id, 'sent']]);
			expect(smtp.messages.map((m) => m.to.join())).toEqual(['erin@example.com']);
			expect(await runFollowUps(store, { channel: email(), now: now + 2 * HOUR })).toEqual([]);
		});

		it('bad input takes nothing: a template with the keys, an unknown time zone, a bad limit', async () => {
			await product('BAD', 1);
			const d = await delivered('BAD', 'frank@example.com');
			const now = Date.now() + 2 * HOUR;
			await expect(runFollowUps(store, { channel: { ...email(), kind: 'email', text: 'Your key: {发货内容}' } as NotifyChannel, now })).rejects.toThrow(/never carries the keys/);
			await expect(runFollowUps(store, { channel: email(), now, timeZone: 'Mars/Base' })).rejects.toThrow(/Unknown time zone/);
			await expect(runFollowUps(store, { channel: email(), now, limit: 0 })).rejects.toThrow(/Max Follow-Ups per Run/);
			expect(await followUpAt(d.id)).toBeNull();
			expect(smtp.messages).toEqual([]);
			const ok = (await runFollowUps(store, { channel: email(), now, limit: 1 })).filter((r) => r.delivery.sku === 'BAD');
			expect(ok.map((r) => r.outcome)).toEqual(['sent']);
			expect(smtp.messages[0].subject).toBe(FOLLOW_UP_TEMPLATES.subject.replace('{商品名称}', 'Product BAD').replace('{productName}', 'Product BAD').replace('{orderId}', d.orderId));
		});
	});
}
