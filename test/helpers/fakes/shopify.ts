/**
 * A local Shopify GraphQL Admin API for Mark Shipped's Shopify preset and the credential test, built
 * from Shopify's documentation:
 *
 * - `POST /admin/api/<version>/graphql.json` with the token in `X-Shopify-Access-Token`; a missing
 *   or wrong token answers 401 `{"errors": "[API] Invalid API key or access token (unrecognized login
 *   or wrong password)"}` (https://shopify.dev/docs/api/admin-graphql, https://shopify.dev/docs/api/usage/response-codes);
 * - `order(id:)` → `fulfillmentOrders { nodes { id status assignedLocation supportedActions } }`, null
 *   for an unknown order (https://shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder);
 * - `fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder, notifyCustomer})` → `{fulfillment
 *   {id status}, userErrors {field message}}`; the fulfilled fulfillment orders become CLOSED; one of
 *   another order, location or status is a userError
 *   (https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate);
 * - `{ shop { name } }` (https://shopify.dev/docs/api/admin-graphql/latest/queries/shop);
 * - `POST /admin/oauth/access_token` (client credentials grant, form-encoded) → `{access_token, scope,
 *   expires_in}` (https://shopify.dev/docs/apps/build/authentication-authorization/client-secrets).
 *
 * It is no GraphQL engine: it tells the three operations apart by the field names in the query
 * and reads their variables. `operations` records each one with its variables.
 *
 *   const shopify = await startShopifyFake({ accessToken: 'shpat_1' });
 *   shopify.addOrder('5001', [{ status: 'OPEN' }]);
 *   shopify.userErrorNext('Fulfillment order has an unfulfillable status= closed.');
 */
import { startFake, type FakeRequest, type FakeServer } from './http';

export interface FakeFulfillmentOrder {
	id: string;
	status: string;
	locationId: string;
	actions: string[];
}

export interface ShopifyOperation {
	operation: 'fulfillmentOrders' | 'fulfillmentCreate' | 'shop';
	version: string;
	variables: Record<string, unknown>;
}

export interface ShopifyFake extends FakeServer {
	/** Numeric order id → its name and fulfillment orders. */
	orders: Map<string, { name: string; fulfillmentOrders: FakeFulfillmentOrder[] }>;
	operations: ShopifyOperation[];
	/** Fulfillments created: id, fulfillment order ids, notifyCustomer. */
	fulfillments: Array<{ id: string; fulfillmentOrderIds: string[]; notifyCustomer: boolean }>;
	/** Access tokens handed out by the client credentials grant. */
	issuedTokens: string[];
	addOrder(id: string, fulfillmentOrders: Array<Partial<FakeFulfillmentOrder>>): void;
	/** The next fulfillmentCreate answers this userError and changes nothing. */
	userErrorNext(message: string): void;
	/** The next GraphQL request answers 200 with this GraphQL error code (THROTTLED, ACCESS_DENIED). */
	graphqlErrorNext(code: string, message: string): void;
}

const INVALID_TOKEN = { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' };

export async function startShopifyFake(auth: { accessToken?: string; clientId?: string; clientSecret?: string; shopName?: string }): Promise<ShopifyFake> {
	const orders: ShopifyFake['orders'] = new Map();
	const operations: ShopifyOperation[] = [];
	const fulfillments: ShopifyFake['fulfillments'] = [];
	const issuedTokens: string[] = [];
	let nextUserError: string | null = null;
	let nextGraphqlError: { code: string; message: string } | null = null;
	let counter = 1000;

	const tokenOk = (token: unknown) => typeof token === 'string' && token !== '' && (token === auth.accessToken || issuedTokens.includes(token));

	const fulfil = (variables: Record<string, unknown>) => {
		const input = (variables.fulfillment ?? {}) as { lineItemsByFulfillmentOrder?: Array<{ fulfillmentOrderId?: string }>; notifyCustomer?: boolean };
		const ids = (input.lineItemsByFulfillmentOrder ?? []).map((x) => String(x.fulfillmentOrderId));
		const error = (message: string) => ({ fulfillmentCreate: { fulfillment: null, userErrors: [{ field: ['fulfillment'], message }] } });
		if (nextUserError !== null) {
			const message = nextUserError;
			nextUserError = null;
			return error(message);
		}
		const found = ids.map((id) => [...orders.values()].flatMap((o) => o.fulfillmentOrders).find((fo) => fo.id === id));
		if (ids.length === 0 || found.some((fo) => !fo)) return error('Fulfillment order does not exist.');
		const fos = found as FakeFulfillmentOrder[];
		const closed = fos.find((fo) => fo.status !== 'OPEN' && fo.status !== 'IN_PROGRESS');
		if (closed) return error(`Fulfillment order ${closed.id} has an unfulfillable status= ${closed.status.toLowerCase()}.`);
		if (new Set(fos.map((fo) => fo.locationId)).size > 1) return error('All fulfillment orders in a fulfillment must be assigned to the same location.');
		for (const fo of fos) fo.status = 'CLOSED';
		const fulfillment = { id: `gid://shopify/Fulfillment/${++counter}`, fulfillmentOrderIds: ids, notifyCustomer: input.notifyCustomer === true };
		fulfillments.push(fulfillment);
		return { fulfillmentCreate: { fulfillment: { id: fulfillment.id, status: 'SUCCESS' }, userErrors: [] } };
	};

	const graphql = (req: FakeRequest, version: string) => {
		if (!tokenOk(req.headers['x-shopify-access-token'])) return { status: 401, body: INVALID_TOKEN };
		const body = (req.body ?? {}) as { query?: string; variables?: Record<string, unknown> };
		const query = String(body.query ?? '');
		const variables = body.variables ?? {};
		const operation: ShopifyOperation['operation'] = query.includes('fulfillmentCreate') ? 'fulfillmentCreate' : query.includes('fulfillmentOrders') ? 'fulfillmentOrders' : 'shop';
		operations.push({ operation, version, variables });
		if (nextGraphqlError) {
			const { code, message } = nextGraphqlError;
			nextGraphqlError = null;
			return { status: 200, body: { errors: [{ message, extensions: { code } }] } };
		}
		if (operation === 'shop') return { status: 200, body: { data: { shop: { name: auth.shopName ?? 'Auto Delivery Test Store' } } } };
		if (operation === 'fulfillmentCreate') return { status: 200, body: { data: fulfil(variables) } };
		const id = /^gid:\/\/shopify\/Order\/([0-9]+)$/.exec(String(variables.id ?? ''))?.[1] ?? '';
		const order = orders.get(id);
		const nodes = order?.fulfillmentOrders.map((fo) => ({
			id: fo.id,
			status: fo.status,
			assignedLocation: { name: `Location ${fo.locationId}`, location: { id: `gid://shopify/Location/${fo.locationId}` } },
			supportedActions: (fo.status === 'OPEN' || fo.status === 'IN_PROGRESS' ? fo.actions : []).map((action) => ({ action })),
		}));
		return { status: 200, body: { data: { order: order ? { id: `gid://shopify/Order/${id}`, name: order.name, fulfillmentOrders: { nodes } } : null } } };
	};

	const handle = (req: FakeRequest) => {
		if (req.method === 'POST' && req.path === '/admin/oauth/access_token') {
			const form = (req.body ?? {}) as Record<string, string>;
			if (form.grant_type !== 'client_credentials' || form.client_id !== auth.clientId || form.client_secret !== auth.clientSecret) {
				return { status: 400, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } };
			}
			const token = `shpat_fake_${issuedTokens.length + 1}_${Date.now().toString(36)}`;
			issuedTokens.push(token);
			return { status: 200, body: { access_token: token, scope: 'read_orders,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders', expires_in: 86399 } };
		}
		const version = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/.exec(req.path)?.[1];
		if (req.method === 'POST' && version) return graphql(req, version);
		return { status: 404, body: { errors: 'Not Found' } };
	};

	const server = await startFake(handle, { errorBody: (status) => ({ errors: status >= 500 ? 'Internal Server Error' : 'Error' }) });
	const clearRequests = server.clear;
	return Object.assign(server, {
		/** Forgets the requests, fault queues, operations and fulfillments (orders and issued tokens stay). */
		clear() {
			clearRequests();
			operations.length = 0;
			fulfillments.length = 0;
			nextUserError = null;
			nextGraphqlError = null;
		},
		orders,
		operations,
		fulfillments,
		issuedTokens,
		addOrder(id: string, fulfillmentOrders: Array<Partial<FakeFulfillmentOrder>>) {
			orders.set(id, {
				name: `#${1000 + orders.size + 1}`,
				fulfillmentOrders: fulfillmentOrders.map((fo) => ({
					id: fo.id ?? `gid://shopify/FulfillmentOrder/${++counter}`,
					status: fo.status ?? 'OPEN',
					locationId: fo.locationId ?? '1',
					actions: fo.actions ?? ['CREATE_FULFILLMENT', 'HOLD', 'MOVE'],
				})),
			});
		},
		userErrorNext(message: string) {
			nextUserError = message;
		},
		graphqlErrorNext(code: string, message: string) {
			nextGraphqlError = { code, message };
		},
	});
}
