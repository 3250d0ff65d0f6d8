/**
 * The bad-input corpus (test/corpus/) in process: every file is a well-formed case, and every
 * webhook case that Shop Webhook answers itself gets the same status and answer from decideWebhook
 * as the corpus expects from the real n8n (test/e2e/corpus.e2e.test.ts) — nothing emitted, no
 * secret echoed. Cases answered by n8n before the node runs, or by the workflow, need the real n8n.
 */
import { decideWebhook, type WebhookSettings } from '../../nodes/core/intake';
import { loadCorpus, webhookRequest, type CorpusCase } from '../helpers/corpus';

const SECRET = 'corpus-unit-signing-secret-5b1f07';
const cases = loadCorpus();
const placeholders = (c: CorpusCase) => ({ orderId: `U-${c.name}`, sku: 'CORPUS-SKU', shop: 'corpus-shop', email: 'u@example.com', buyerId: 'u1', importSku: 'CORPUS-IMPORT', rand: 'R' });

describe('the corpus (test/corpus)', () => {
	it('has at least 60 well-formed cases with unique names, covering every target', () => {
		expect(cases.length).toBeGreaterThanOrEqual(60);
		expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
		for (const t of ['order-paid', 'refund', 'import-form']) expect(cases.filter((c) => c.target === t).length).toBeGreaterThan(5);
	});

	const ours = cases.filter((c) => c.target !== 'import-form' && c.expect.by === 'shop-webhook');
	it.each(ours.map((c) => [c.name, c] as const))('%s: decideWebhook answers as expected', (_name, c) => {
		const settings: WebhookSettings = { secret: SECRET, events: c.target === 'refund' ? 'order.refunded' : 'order.paid' };
		const req = webhookRequest(c, placeholders(c), SECRET);
		const d = decideWebhook({ method: req.method, headers: req.headers, rawBody: req.body }, settings);
		expect(d.action).not.toBe('accept');
		if (d.action === 'accept') return;
		expect(d.status).toBe(c.expect.status);
		if (c.expect.json) expect(d.body).toMatchObject(c.expect.json);
		expect(JSON.stringify(d.body)).not.toContain(SECRET);
	});
});
