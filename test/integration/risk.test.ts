/**
 * Risk Check's core (nodes/core/risk.ts) against real databases: the rules, every decision
 * recorded, replays that count nothing, and the atomic counting that lets exactly N orders through
 * when many arrive at once — in one process and across OS processes.
 */
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { ValidationError } from '../../nodes/core/errors';
import { addToBlocklist, approveHeld, evaluateRisk, listBlocklist, removeFromBlocklist, type RiskRules } from '../../nodes/core/risk';
import { type DbKind, describeDb, storeConfig, useStore } from '../helpers/db';
import { type Op, raceOps, runOps } from './workers/opsWorker';

const rate = (max: number, action: 'reject' | 'review' = 'reject', windowMinutes = 60) => ({ max, windowMinutes, action });

async function count(store: KeyStore, table: string, where: Record<string, unknown> = {}) {
	return Number((await internals(store).db(table).where(where).count({ c: '*' }).first())?.c ?? 0);
}

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'risk rules', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		const oid = () => `R-${kind}-${++n}`;
		useStore(cfg, (s) => (store = s));

		it('passes a clean order and records the decision', async () => {
			const orderId = oid();
			const r = await evaluateRisk(store, { orderId, line: 'SKU-1', buyerId: 'clean', email: 'Clean@Example.com', ip: '198.51.100.1', quantity: 1, amount: 10 }, { blocklist: { action: 'reject' }, perBuyer: rate(3), maxQuantity: { max: 5, action: 'reject' }, amount: { threshold: 500, action: 'review' } });
			expect(r).toEqual({ decision: 'pass', reasons: [], replayed: false, orderId, shop: null, line: 'SKU-1' });
			const log = await internals(store).db(internals(store).t.riskLog).where({ order_id: orderId }).first();
			expect(log).toMatchObject({ line: 'SKU-1', buyer_id: 'clean', buyer_email: 'clean@example.com', buyer_ip: '198.51.100.1', decision: 'pass' });
			expect((await store.listEvents({ orderId, type: 'risk_decision' }))[0]).toMatchObject({ sku: 'SKU-1', details: { decision: 'pass', rules: [] } });
		});

		it('blocklist by buyer id, email (any case) and IP, each breach as Reject or Review; reject wins over review', async () => {
			await addToBlocklist(store, { kind: 'buyer', value: 'fraud-1', reason: 'chargeback' });
			await addToBlocklist(store, { kind: 'email', value: 'Bad@Example.COM' });
			await addToBlocklist(store, { kind: 'ip', value: '203.0.113.66' });
			const rules: RiskRules = { blocklist: { action: 'reject' } };
			expect((await evaluateRisk(store, { orderId: oid(), buyerId: 'fraud-1' }, rules)).reasons).toEqual([{ rule: 'blocklist', action: 'reject', message: 'Buyer fraud-1 is on the blocklist (chargeback).' }]);
			expect((await evaluateRisk(store, { orderId: oid(), email: 'bad@example.com' }, rules)).decision).toBe('reject');
			expect((await evaluateRisk(store, { orderId: oid(), buyerId: 'someone', ip: '203.0.113.66' }, rules)).decision).toBe('reject');
			expect((await evaluateRisk(store, { orderId: oid(), buyerId: 'fraud-1' }, { blocklist: { action: 'review' } })).decision).toBe('review');
			// blocklist check off: nothing
			expect((await evaluateRisk(store, { orderId: oid(), buyerId: 'fraud-1' }, {})).decision).toBe('pass');
			// several breaches: all reasons listed, reject wins
			const many = await evaluateRisk(store, { orderId: oid(), buyerId: 'fraud-1', quantity: 9, amount: 1000 }, { blocklist: { action: 'review' }, maxQuantity: { max: 5, action: 'reject' }, amount: { threshold: 1000, action: 'review' } });
			expect(many.decision).toBe('reject');
			expect(many.reasons.map((r) => [r.rule, r.action])).toEqual([['blocklist', 'review'], ['max_quantity', 'reject'], ['amount', 'review']]);
			expect(many.reasons[1].message).toBe('Quantity 9 is above the maximum of 5 per order.');
			expect(many.reasons[2].message).toBe('Amount 1000 is at or above the review threshold of 1000.');
		});

		it('max quantity and the amount threshold: at the limit passes / reviews as specified', async () => {
			const rules: RiskRules = { maxQuantity: { max: 5, action: 'reject' }, amount: { threshold: 200, action: 'review' } };
			expect((await evaluateRisk(store, { orderId: oid(), quantity: 5, amount: 199.99 }, rules)).decision).toBe('pass');
			expect((await evaluateRisk(store, { orderId: oid(), quantity: 6 }, rules)).decision).toBe('reject');
			expect((await evaluateRisk(store, { orderId: oid(), quantity: '1', amount: '200' }, rules)).decision).toBe('review');
		});

		it('orders per buyer / email / IP within the window: rejected orders do not count, reviewed ones do, other lines of the same order are the same order', async () => {
			const rules: RiskRules = { perBuyer: rate(2) };
			const a = await evaluateRisk(store, { orderId: 'W-1', line: 'A', buyerId: 'win' }, rules);
			const a2 = await evaluateRisk(store, { orderId: 'W-1', line: 'B', buyerId: 'win' }, rules); // same order, 2nd line
			const b = await evaluateRisk(store, { orderId: 'W-2', buyerId: 'win' }, rules);
			const c = await evaluateRisk(store, { orderId: 'W-3', buyerId: 'win' }, rules);
			const d = await evaluateRisk(store, { orderId: 'W-4', buyerId: 'win' }, rules);
			expect([a, a2, b, c, d].map((r) => r.decision)).toEqual(['pass', 'pass', 'pass', 'reject', 'reject']);
			expect(c.reasons[0]).toEqual({ rule: 'buyer_rate', action: 'reject', message: 'Too many orders from buyer win: 3 within 60 minutes (at most 2).' });
			// the window: push the earlier orders back two hours — they no longer count
			await internals(store).db(internals(store).t.riskLog).where({ buyer_id: 'win' }).update({ at: Date.now() - 2 * 3600000 });
			expect((await evaluateRisk(store, { orderId: 'W-5', buyerId: 'win' }, rules)).decision).toBe('pass');
			expect((await evaluateRisk(store, { orderId: 'W-6', buyerId: 'win' }, { perBuyer: rate(2, 'reject', 180) })).decision).toBe('reject');
			// review decisions count towards the limit
			const rv: RiskRules = { perEmail: rate(1, 'review') };
			expect((await evaluateRisk(store, { orderId: 'E-1', email: 'rv@example.com' }, rv)).decision).toBe('pass');
			expect((await evaluateRisk(store, { orderId: 'E-2', email: 'RV@example.com' }, rv)).decision).toBe('review');
			expect((await evaluateRisk(store, { orderId: 'E-3', email: 'rv@example.com' }, rv)).reasons[0].message).toMatch(/3 within 60 minutes \(at most 1\)/);
			// per IP, independent of the buyer
			const ip: RiskRules = { perIp: rate(1) };
			expect((await evaluateRisk(store, { orderId: 'I-1', buyerId: 'x1', ip: '192.0.2.9' }, ip)).decision).toBe('pass');
			expect((await evaluateRisk(store, { orderId: 'I-2', buyerId: 'x2', ip: '192.0.2.9' }, ip)).reasons[0].rule).toBe('ip_rate');
		});

		it('the same order line evaluated again returns the same decision and counts nothing', async () => {
			const rules: RiskRules = { perBuyer: rate(1), amount: { threshold: 50, action: 'review' } };
			const first = await evaluateRisk(store, { orderId: 'P-1', line: 'S', buyerId: 'rep', amount: 60 }, rules);
			expect(first).toMatchObject({ decision: 'review', replayed: false });
			const logs = await count(store, internals(store).t.riskLog);
			// the replay ignores changed inputs and rules: the recorded decision stands
			const again = await evaluateRisk(store, { orderId: 'P-1', line: 'S', buyerId: 'rep', amount: 1 }, {});
			expect(again).toEqual({ ...first, replayed: true });
			expect(await count(store, internals(store).t.riskLog)).toBe(logs);
			expect(await store.listEvents({ orderId: 'P-1', type: 'risk_decision' })).toHaveLength(1);
		});

		it('blocklist add / remove / list; adding twice updates the reason', async () => {
			const e = await addToBlocklist(store, { kind: 'email', value: ' Spam@Example.com ', reason: 'spam' });
			expect(e).toMatchObject({ kind: 'email', value: 'spam@example.com', reason: 'spam', added: true });
			expect(await addToBlocklist(store, { kind: 'email', value: 'spam@example.com', reason: 'spam, again' })).toMatchObject({ added: false, reason: 'spam, again' });
			const emails = await listBlocklist(store, { kind: 'email' });
			expect(emails.map((x) => x.value)).toEqual(['bad@example.com', 'spam@example.com']);
			expect((await listBlocklist(store)).length).toBeGreaterThanOrEqual(4);
			expect(await removeFromBlocklist(store, { kind: 'email', value: 'SPAM@example.com' })).toEqual({ kind: 'email', value: 'spam@example.com', removed: true });
			expect(await removeFromBlocklist(store, { kind: 'email', value: 'spam@example.com' })).toMatchObject({ removed: false });
			// concurrent adds of one value: one entry, one "added"
			const adds = await Promise.all(Array.from({ length: 8 }, () => addToBlocklist(store, { kind: 'ip', value: '192.0.2.200' })));
			expect(adds.filter((a) => a.added)).toHaveLength(1);
			expect(await count(store, internals(store).t.blocklist, { kind: 'ip', value: '192.0.2.200' })).toBe(1);
		});

		it('bad input or bad rules change nothing', async () => {
			const logs = await count(store, internals(store).t.riskLog);
			const events = await count(store, internals(store).t.events);
			await expect(evaluateRisk(store, { orderId: '' }, {})).rejects.toThrow(/Order ID is required/);
			await expect(evaluateRisk(store, { orderId: 'B-1', quantity: 1.5 }, {})).rejects.toThrow(ValidationError);
			await expect(evaluateRisk(store, { orderId: 'B-1', amount: -1 }, {})).rejects.toThrow(/amount must be a number/);
			await expect(evaluateRisk(store, { orderId: 'B-1', email: 'a\u0000b' }, {})).rejects.toThrow(/control characters/);
			await expect(evaluateRisk(store, { orderId: 'B-1' }, { perBuyer: rate(1, 'reject', 0) })).rejects.toThrow(/window must be more than 0/);
			await expect(evaluateRisk(store, { orderId: 'B-1' }, { perIp: { max: 1, windowMinutes: 10, action: 'block' as never } })).rejects.toThrow(/reject" or "review/);
			await expect(addToBlocklist(store, { kind: 'phone' as never, value: 'x' })).rejects.toThrow(/Type must be Buyer ID, Email or IP/);
			await expect(addToBlocklist(store, { kind: 'ip', value: '  ' })).rejects.toThrow(/value to block is required/);
			expect(await count(store, internals(store).t.riskLog)).toBe(logs);
			expect(await count(store, internals(store).t.events)).toBe(events);
		});

		it('approves a held order line: returns it as recorded (ready for Claim Key), once; refuses passed or unknown lines', async () => {
			const orderId = oid();
			const held = await evaluateRisk(store, { orderId, line: 'BIG-1', buyerId: 'u-held', email: 'Held@Example.com', ip: '198.51.100.9', buyerName: '小明', shop: 'helloworld', quantity: 3, amount: 900 }, { amount: { threshold: 500, action: 'review' } });
			expect(held.decision).toBe('review');
			// the order is (shop, orderId): the same id in the default shop was never held
			await expect(approveHeld(store, { orderId, line: 'BIG-1' })).rejects.toThrow(/never checked by Risk Check/);
			const a = await approveHeld(store, { orderId, shop: 'helloworld', line: 'BIG-1', note: 'called the buyer' });
			expect(a).toMatchObject({
				orderId, sku: 'BIG-1', quantity: 3, amount: 900, shop: 'helloworld',
				buyer: { id: 'u-held', name: '小明', email: 'held@example.com', ip: '198.51.100.9' },
				risk: { decision: 'review', approved: true, alreadyApproved: false },
			});
			expect(a.risk.reasons.map((r) => r.rule)).toEqual(['amount']);
			const again = await approveHeld(store, { orderId, shop: 'helloworld', line: 'BIG-1' });
			expect(again.risk).toMatchObject({ alreadyApproved: true, approvedAt: a.risk.approvedAt });
			expect(await store.listEvents({ orderId, shop: 'helloworld', type: 'risk_approved' })).toHaveLength(1);
			// the shop's retry of an approved line passes now (and counts nothing)
			const logs = await count(store, internals(store).t.riskLog);
			expect(await evaluateRisk(store, { orderId, shop: 'helloworld', line: 'BIG-1' }, { amount: { threshold: 500, action: 'review' } })).toMatchObject({ decision: 'pass', replayed: true, approved: true, heldAs: 'review' });
			expect(await count(store, internals(store).t.riskLog)).toBe(logs);

			const passed = oid();
			await evaluateRisk(store, { orderId: passed, line: 'OK-1' }, {});
			const events = await count(store, internals(store).t.events);
			await expect(approveHeld(store, { orderId: passed, line: 'OK-1' })).rejects.toThrow(/passed Risk Check; it was not held/);
			await expect(approveHeld(store, { orderId: 'NEVER-SEEN', line: 'X' })).rejects.toThrow(/never checked by Risk Check/);
			await expect(approveHeld(store, { orderId: '' })).rejects.toThrow(/Order ID is required/);
			expect(await count(store, internals(store).t.events)).toBe(events);
		});
	});

	describeDb(kind, 'risk counting races', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		useStore(cfg, (s) => (store = s));
		const decisions = (rs: Array<{ decision?: string }>) => rs.reduce<Record<string, number>>((m, r) => ((m[r.decision ?? 'error'] = (m[r.decision ?? 'error'] ?? 0) + 1), m), {});

		it('50 orders from one buyer at once, limit 5: exactly 5 pass (reject action), in one process', async () => {
			const rules: RiskRules = { perBuyer: rate(5) };
			const ops: Op[] = Array.from({ length: 50 }, (_, i) => ({ op: 'risk', orderId: `RB-${i}`, line: 'SKU', buyerId: 'hot-buyer', rules }));
			const results = await runOps(store, ops, 50);
			expect(results.filter((r) => r.error)).toEqual([]);
			expect(decisions(results)).toEqual({ pass: 5, reject: 45 });
			expect(await count(store, internals(store).t.riskLog, { buyer_id: 'hot-buyer', decision: 'pass' })).toBe(5);
		});

		it('50 orders from one email and one IP at once, limit 5 as Review: exactly 5 pass, 45 to review', async () => {
			const rules: RiskRules = { perEmail: rate(5, 'review'), perIp: rate(5, 'review') };
			const ops: Op[] = Array.from({ length: 50 }, (_, i) => ({ op: 'risk', orderId: `RE-${i}`, buyerId: `b-${i}`, email: 'same@example.com', ip: '198.51.100.77', rules }));
			const results = await runOps(store, ops, 50);
			expect(results.filter((r) => r.error)).toEqual([]);
			expect(decisions(results)).toEqual({ pass: 5, review: 45 });
		});

		it('each of 30 orders evaluated twice at once (webhook retries): 5 pass, both evaluations agree, one record each', async () => {
			const rules: RiskRules = { perBuyer: rate(5) };
			const ops: Op[] = Array.from({ length: 60 }, (_, i) => ({ op: 'risk', orderId: `RD-${i % 30}`, buyerId: 'dup-buyer', rules }));
			const results = await runOps(store, ops, 60);
			expect(results.filter((r) => r.error)).toEqual([]);
			for (let i = 0; i < 30; i++) expect(results[i].decision).toBe(results[i + 30].decision);
			expect(results.filter((r) => r.replayed)).toHaveLength(30);
			expect(decisions(results.filter((r) => !r.replayed))).toEqual({ pass: 5, reject: 25 });
			expect(await count(store, internals(store).t.riskLog, { buyer_id: 'dup-buyer' })).toBe(30);
		});

		it('one order line evaluated 20 times at once without any rate rule: one decision recorded, 19 replays', async () => {
			const rules: RiskRules = { amount: { threshold: 10, action: 'review' } };
			const ops: Op[] = Array.from({ length: 20 }, () => ({ op: 'risk', orderId: 'SAME-LINE', line: 'X', amount: 20, rules }));
			const results = await runOps(store, ops, 20);
			expect(results.filter((r) => r.error)).toEqual([]);
			expect(results.every((r) => r.decision === 'review')).toBe(true);
			expect(results.filter((r) => !r.replayed)).toHaveLength(1);
			expect(await count(store, internals(store).t.riskLog, { order_id: 'SAME-LINE' })).toBe(1);
		});

		it('50 orders from one buyer across 5 OS processes (10 each, all at once), limit 5: exactly 5 pass', async () => {
			const rules: RiskRules = { perBuyer: rate(5), perIp: rate(100) };
			const lists = Array.from({ length: 5 }, (_, p) => Array.from({ length: 10 }, (_, i): Op => ({ op: 'risk', orderId: `RX-${p}-${i}`, line: 'SKU', buyerId: 'multi-proc', ip: '203.0.113.5', rules })));
			const per = await raceOps(cfg, lists, 10);
			const all = per.flat();
			expect(all.filter((r) => r.error)).toEqual([]);
			expect(decisions(all)).toEqual({ pass: 5, reject: 45 });
			expect(await count(store, internals(store).t.riskLog, { buyer_id: 'multi-proc', decision: 'pass' })).toBe(5);
		});
	});
}
