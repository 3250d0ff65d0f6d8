/** Parameters of our nodes shared by several engine tests (the rest is set per test). */

/** Claim Key reading the order line and buyer from the incoming item. */
export function claimParams(details: Record<string, string>): Record<string, unknown> {
	return {
		orderId: '={{ $json.orderId }}',
		sku: '={{ $json.sku }}',
		quantity: '={{ $json.quantity }}',
		strategy: 'sequential',
		includeKeys: false,
		details,
	};
}

/** Mark Shipped calling the shop for the incoming delivery, after a recorded send. */
export function shipParams(body: string, options: Record<string, unknown>): Record<string, unknown> {
	return {
		lookup: 'deliveryId',
		deliveryId: '={{ $json.deliveryId }}',
		mode: 'callApi',
		requireSent: true,
		whenNotSent: 'route',
		method: 'POST',
		path: '/orders/{orderId}/ship',
		body,
		referenceField: 'reference',
		options,
	};
}
