/** The canonical paid order of the webhook contract (docs/webhook.md), as the shop sends it. */
export const EXAMPLE_ORDER = {
	event: 'order.paid',
	orderId: 'T20261123001',
	shop: 'helloworld',
	buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
	items: [{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 }],
	amount: 100,
	currency: 'CNY',
	paidAt: '2026-11-23T10:00:00Z',
};
