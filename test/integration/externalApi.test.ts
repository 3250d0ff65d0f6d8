/**
 * External API products against real databases (SQLite, PostgreSQL, MariaDB) with a real local
 * content API (test/helpers/contentApiServer.ts): the sealed endpoint config, a delivery recorded
 * like a claim (sealed, unique per order line, replayed without a second call), the pool never
 * used for them (also on the one-statement claims), refund tombstones, the resend path, refunds
 * with the revoke call, a failing API holding the line (listed by Stock Alert, delivered by a later
 * run), two runs of one order line at once, and no content in events, errors or plain columns.
 */
import { stuckDeliveries } from '../../nodes/core/alerts';
import { claimLine, parseApiConfig, revokeLines } from '../../nodes/core/delivery';
import { ValidationError } from '../../nodes/core/errors';
import type { ClaimResult, DeliveryWithKeys, KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type ContentApi, startContentApi } from '../helpers/contentApiServer';
import { type DbKind, describeDb, makeKeys, storeConfig, useStore } from '../helpers/db';

const TOKEN = 'api-token-SECRET-5d4c3b2a';
const fast = { backoffMs: 1 };

let api: ContentApi;
beforeAll(async () => {
	api = await startContentApi({ prefix: 'XAPI' });
});
afterAll(() => api.close());

const delivered = (r: ClaimResult): DeliveryWithKeys => {
	if (!r.delivered) throw new Error(`not delivered: ${r.reason} ${r.detail ?? ''}`);
	return r.delivery;
};

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'External API products', () => {
		let store: KeyStore;
		const cfg = storeConfig(kind);
		const config = (over: Record<string, unknown> = {}) =>
			parseApiConfig({
				url: `${api.url}/codes`,
				headers: { Authorization: `Bearer ${TOKEN}` },
				body: '{"orderId": "{orderId}", "quantity": {quantity}}',
				contentPath: 'data.codes',
				timeoutMs: 2000,
				revoke: { url: `${api.url}/revoke`, body: '{"orderId": "{orderId}", "codes": "{deliveryContent}"}' },
				...over,
			}) as unknown as Record<string, unknown>;
		useStore(cfg, (s) => (store = s), async (s) => {
			await s.upsertProduct({ sku: 'XAPI', name: 'Game code', kind: 'api', apiConfig: config() });
		});
		beforeEach(() => api.clear());
		const line = (orderId: string, extra: Record<string, unknown> = {}) => ({ orderId, shop: 'helloworld', sku: 'XAPI', quantity: 2, buyer: { name: '小明', email: 'b@example.com' }, amount: 20, ...extra });
		/** Every stored text of the store (plain columns of every table) joined, to look for plaintext. */
		const plainText = async () => {
			const { db, t } = internals(store);
			const rows = [];
			for (const table of [t.products, t.deliveries, t.events, t.waiting, t.keys]) rows.push(...((await db(table).select()) as unknown[]));
			return JSON.stringify(rows);
		};

		it('stores the endpoint sealed; the product shows its kind only; bad settings change nothing', async () => {
			const p = await store.getProduct('XAPI');
			expect(p).toMatchObject({ sku: 'XAPI', kind: 'api', hasApiConfig: true });
			expect((await store.getApiConfig('XAPI'))?.config).toEqual(config());
			expect(await store.getApiConfig('NOPE')).toBeNull();
			const text = await plainText();
			expect(text).not.toContain(TOKEN);
			expect(text).not.toContain(api.url);
			await expect(store.upsertProduct({ sku: 'XAPI-NEW', kind: 'api' })).rejects.toThrow(ValidationError);
			await expect(store.upsertProduct({ sku: 'XAPI', kind: 'api', apiConfig: null })).rejects.toThrow(/has no endpoint/);
			expect(await store.getProduct('XAPI-NEW')).toBeNull();
			expect((await store.getApiConfig('XAPI'))?.config).toEqual(config());
			// stock alerts never count an External API product as out of stock
			expect((await store.stock('XAPI'))[0]).toMatchObject({ sku: 'XAPI', unlimited: true });
		});

		it('delivers the API content like a claim and replays it without calling the API again', async () => {
			const first = delivered(await claimLine(store, line('X-1'), fast));
			expect(api.requests).toHaveLength(1);
			const codes = api.issued.get('helloworld:X-1:XAPI') as string[];
			expect(codes).toHaveLength(2);
			expect(first).toMatchObject({ orderId: 'X-1', shop: 'helloworld', sku: 'XAPI', quantity: 2, status: 'claimed', externalApi: true, fixedContent: false, strategy: null });
			expect(first.keys.map((k) => [k.id, k.status, k.key])).toEqual([[null, 'assigned', undefined], [null, 'assigned', undefined]]);
			expect(first.keys.map((k) => k.masked)).toEqual(codes.map((c) => `${c.slice(0, 4)}…${c.slice(-4)}`));
			const again = delivered(await claimLine(store, { ...line('X-1'), reveal: true }, fast));
			expect(api.requests).toHaveLength(1); // no second call
			expect(again.id).toBe(first.id);
			expect(again.keys.map((k) => k.key)).toEqual(codes);
			const replay = await store.claim({ ...line('X-1'), reveal: true });
			expect(replay.delivered && replay.alreadyDelivered && replay.delivery.keys.map((k) => k.key)).toEqual(codes);
			const events = await store.listEvents({ orderId: 'X-1', shop: 'helloworld' });
			expect(events.map((e) => [e.type, e.details])).toEqual([['claimed', { externalApi: true, items: 2 }]]);
			const text = await plainText();
			for (const c of codes) expect(text).not.toContain(c);
		});

		it('the key store never hands out pool keys for an External API product (also on the one-statement claim)', async () => {
			const keys = makeKeys(3, 'POOL');
			await store.importKeys({ sku: 'XAPI', keys });
			const r = await store.claim(line('X-2'));
			expect(r).toEqual({ delivered: false, reason: 'external_api', orderId: 'X-2', shop: 'helloworld', sku: 'XAPI', quantity: 2 });
			expect(await store.getDeliveries({ orderId: 'X-2', shop: 'helloworld' })).toEqual([]);
			expect(await store.countAvailable('XAPI')).toBe(3);
			const d = delivered(await claimLine(store, { ...line('X-2'), reveal: true }, fast));
			expect(d.keys.map((k) => k.key)).toEqual(api.issued.get('helloworld:X-2:XAPI'));
			expect(await store.countAvailable('XAPI')).toBe(3);
			await store.voidKeys({ sku: 'XAPI', all: true });
		});

		it('a refund before payment: the late claim is refused without calling the API', async () => {
			await store.revoke({ orderId: 'X-3', shop: 'helloworld' });
			const r = await claimLine(store, line('X-3'), fast);
			expect(r).toMatchObject({ delivered: false, reason: 'revoked' });
			await store.revoke({ orderId: 'X-3b', shop: 'helloworld', sku: 'XAPI' });
			expect(await claimLine(store, line('X-3b'), fast)).toMatchObject({ delivered: false, reason: 'revoked' });
			expect(api.requests).toHaveLength(0);
		});

		it('sending and resending read the content; a send error echoing it is scrubbed', async () => {
			const d = delivered(await claimLine(store, line('X-4'), fast));
			const codes = api.issued.get('helloworld:X-4:XAPI') as string[];
			const lease = await store.beginSend(d.id);
			if (lease.kind !== 'go') throw new Error(lease.kind);
			expect(lease.delivery.keys.map((k) => k.key)).toEqual(codes);
			await store.markSendFailed(d.id, lease.token, { channel: 'email', error: `550 rejected, the message held ${codes[1]}` });
			const row = await internals(store).db(internals(store).t.deliveries).where({ id: d.id }).first();
			expect(row.last_error).toMatch(/550 rejected/);
			expect(row.last_error).not.toContain(codes[1]);
			const retry = await store.beginSend(d.id);
			if (retry.kind !== 'go') throw new Error(retry.kind);
			await store.markSent(d.id, retry.token, { channel: 'email' });
			const resend = await store.beginSend(d.id, { resend: true });
			expect(resend.kind === 'go' && resend.delivery.keys.map((k) => k.key)).toEqual(codes);
		});

		it('a refund revokes the content and calls the revoke API with it; running the refund again retries the call', async () => {
			const d = delivered(await claimLine(store, line('X-5'), fast));
			const codes = api.issued.get('helloworld:X-5:XAPI') as string[];
			const [r] = await revokeLines(store, { orderId: 'X-5', shop: 'helloworld' }, fast);
			expect(r).toMatchObject({ sku: 'XAPI', deliveryId: d.id, tombstone: false, alreadyRevoked: false, revokeCall: { called: true, ok: true, status: 200 } });
			expect(r.keys.map((k) => [k.id, k.status, k.key])).toEqual([[null, 'revoked', undefined], [null, 'revoked', undefined]]);
			const call = api.requests[1];
			expect(call).toMatchObject({ path: '/revoke', idempotencyKey: 'helloworld:X-5:XAPI:revoke', body: { orderId: 'X-5', codes: codes.join('\n') } });
			expect((await store.getDeliveryById(d.id))?.status).toBe('revoked');
			expect(await claimLine(store, line('X-5'), fast)).toMatchObject({ delivered: false, reason: 'revoked' });
			// the revoke call fails: reported, the store revoke stands
			api.faults([500, 500, 500]);
			const [again] = await revokeLines(store, { orderId: 'X-5', shop: 'helloworld' }, fast);
			expect(again).toMatchObject({ alreadyRevoked: true, revokeCall: { called: true, ok: false, status: 500, attempts: 3 } });
			expect(again.revokeCall?.message).toMatch(/The revoke API 127\.0\.0\.1:\d+ failed: .*The refund is recorded in the key store anyway/);
			expect(api.requests.slice(2).map((x) => x.idempotencyKey)).toEqual(Array(3).fill('helloworld:X-5:XAPI:revoke'));
			const events = await store.listEvents({ orderId: 'X-5', shop: 'helloworld', type: 'revoked' });
			expect(events.find((e) => e.sku === 'XAPI')?.details).toMatchObject({ externalApi: true, previousStatus: 'claimed' });
			const text = JSON.stringify([again, await store.listEvents({ orderId: 'X-5', shop: 'helloworld' })]) + (await plainText());
			for (const c of codes) expect(text).not.toContain(c);
		});

		it('a product without a revoke call: the refund says so and calls nothing', async () => {
			await store.upsertProduct({ sku: 'XAPI-NR', kind: 'api', apiConfig: config({ revoke: null }) });
			delivered(await claimLine(store, { ...line('X-6'), sku: 'XAPI-NR' }, fast));
			const [r] = await revokeLines(store, { orderId: 'X-6', shop: 'helloworld' }, fast);
			expect(r.revokeCall).toMatchObject({ called: false, ok: true });
			expect(api.requests).toHaveLength(1);
		});

		it('a failing API: nothing delivered, the line held and listed as stuck; a later run delivers and ends it', async () => {
			api.faults([503, 503, 503]);
			const r = await claimLine(store, line('X-7', { paidAt: '2026-11-23T10:00:00Z' }), fast);
			expect(r).toMatchObject({ delivered: false, reason: 'api_failed', orderId: 'X-7', shop: 'helloworld', sku: 'XAPI', quantity: 2 });
			expect(!r.delivered && r.detail).toMatch(/^The content API 127\.0\.0\.1:\d+ failed: The server answered 503 .*Gave up after 3 attempts\.$/);
			expect(await store.getDeliveries({ orderId: 'X-7', shop: 'helloworld' })).toEqual([]);
			const [held] = await store.listWaiting({ orderId: 'X-7', shop: 'helloworld' });
			expect(held).toMatchObject({ reason: 'api_failed', status: 'waiting', quantity: 2, paidAt: '2026-11-23T10:00:00.000Z', buyer: { name: '小明' } });
			const stuck = await stuckDeliveries(store, { notSentMinutes: null, notShippedMinutes: null, waitingMinutes: 0 });
			expect(stuck.filter((s) => s.orderId === 'X-7')).toEqual([
				expect.objectContaining({ problem: 'waiting', reason: 'api_failed', sku: 'XAPI', shop: 'helloworld', deliveryId: null, message: expect.stringMatching(/^Order X-7 of shop helloworld \/ XAPI × 2: waiting for 0 min \(api_failed\) — the content API failed/) }),
			]);
			expect(await stuckDeliveries(store, { notSentMinutes: 60 })).not.toContainEqual(expect.objectContaining({ orderId: 'X-7' }));
			// a 4xx is not retried; still held (once)
			api.faults([{ status: 401, body: { error: `bad token ${TOKEN}` } }]);
			const r2 = await claimLine(store, line('X-7'), fast);
			expect(!r2.delivered && r2.detail).toMatch(/refused the request: 401/);
			expect(!r2.delivered && r2.detail).not.toContain(TOKEN);
			expect(await store.listWaiting({ orderId: 'X-7', shop: 'helloworld' })).toHaveLength(1);
			// the API works again: delivered, the waiting line ends with the delivery
			const d = delivered(await claimLine(store, line('X-7'), fast));
			expect(api.requests.map((x) => x.idempotencyKey)).toEqual(Array(5).fill('helloworld:X-7:XAPI'));
			expect(await store.listWaiting({ orderId: 'X-7', shop: 'helloworld' })).toEqual([]);
			expect(await store.listWaiting({ orderId: 'X-7', shop: 'helloworld', status: 'delivered' })).toEqual([expect.objectContaining({ deliveryId: d.id })]);
		});

		it('two runs of one order line at once: one delivery, the same content for both (even when the API answered each differently)', async () => {
			const both = await Promise.all([claimLine(store, { ...line('X-8'), reveal: true }, fast), claimLine(store, { ...line('X-8'), reveal: true }, fast)]);
			const [a, b] = both.map(delivered);
			expect(a.id).toBe(b.id);
			expect(a.keys.map((k) => k.key)).toEqual(api.issued.get('helloworld:X-8:XAPI'));
			expect(b.keys.map((k) => k.key)).toEqual(a.keys.map((k) => k.key));
			// a seller system that does not honour the Idempotency-Key: still one delivery, one content
			api.faults([{ status: 200, body: { data: { codes: ['ONE-AAAA-1111'] } } }, { status: 200, body: { data: { codes: ['TWO-BBBB-2222'] } } }]);
			const [c, d] = (await Promise.all([claimLine(store, { ...line('X-9'), reveal: true }, fast), claimLine(store, { ...line('X-9'), reveal: true }, fast)])).map(delivered);
			expect(c.id).toBe(d.id);
			expect(d.keys.map((k) => k.key)).toEqual(c.keys.map((k) => k.key));
			expect(await store.getDeliveries({ orderId: 'X-9', shop: 'helloworld' })).toHaveLength(1);
			expect(await store.listEvents({ orderId: 'X-9', shop: 'helloworld', type: 'claimed' })).toHaveLength(1);
		});

		it('a pool product still claims pool keys (fixed content too), and recording API content for it is refused', async () => {
			await store.importKeys({ sku: 'POOL-1', keys: makeKeys(2, 'P1') });
			const p = delivered(await store.claim({ orderId: 'X-10', sku: 'POOL-1' }));
			expect(p).toMatchObject({ externalApi: false, fixedContent: false, strategy: 'sequential' });
			expect(p.keys[0].id).not.toBeNull();
			await expect(store.recordApiDelivery({ orderId: 'X-11', sku: 'POOL-1' }, ['SOME-CODE-1'])).rejects.toThrow(/not an External API product/);
			await expect(store.recordApiDelivery({ orderId: 'X-11', sku: 'XAPI' }, [''])).rejects.toThrow(ValidationError);
			expect(await store.getDeliveries({ orderId: 'X-11' })).toEqual([]);
		});
	});
}
