/**
 * A local WooCommerce REST API (v3) for Mark Shipped's WooCommerce preset and the credential test,
 * built from WooCommerce's documentation (github.com/woocommerce/woocommerce-rest-api-docs,
 * source/includes/wp-api-v3/):
 *
 * - `PUT /wp-json/wc/v3/orders/<id>` updates an order; `status` is one of pending, processing,
 *   on-hold, completed, cancelled, refunded, failed, trash; the answer is the order
 *   (https://woocommerce.github.io/woocommerce-rest-api-docs/#update-an-order, _orders.md);
 * - `POST /wp-json/wc/v3/orders/<id>/notes` with `note` (mandatory) and `customer_note` answers the
 *   note `{id, author, date_created, note, customer_note}` (#create-an-order-note, _order-notes.md);
 * - `GET /wp-json/wc/v3/orders?per_page=N` lists orders (#list-all-orders);
 *   `GET /wp-json/wc/v3/system_status` the environment (#system-status, _system-status.md);
 * - Basic auth with the consumer key as user and the secret as password (#authentication,
 *   _authentication.md); errors are `{code, message, data: {status}}` (#errors, _introduction.md):
 *   401 `woocommerce_rest_cannot_view` without credentials, 401 `woocommerce_rest_authentication_error`
 *   for a wrong secret, 404 `woocommerce_rest_shop_order_invalid_id` for an unknown order, 400
 *   `rest_invalid_param`, 404 `rest_no_route`.
 *
 *   const woo = await startWooCommerceFake({ consumerKey: 'ck_1', consumerSecret: 'cs_1' });
 *   woo.addOrder(727);                                  // status processing
 *   woo.faults('PUT /wp-json/wc/v3/orders/727', [500, 'ok']);
 *   // … Store URL `woo.url` …
 *   expect(woo.orders.get(727)?.status).toBe('completed');
 *
 * `plainHtml` answers every route with a 200 HTML page, as WordPress does with "Plain" permalinks.
 */
import { basicCredentials, startFake, type FakeOptions, type FakeRequest, type FakeServer } from './http';

export const WOO_STATUSES = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed', 'trash'];

export interface WooNote {
	id: number;
	note: string;
	customer_note: boolean;
}

export interface WooOrder {
	id: number;
	number: string;
	status: string;
	notes: WooNote[];
}

export interface WooCommerceFake extends FakeServer {
	orders: Map<number, WooOrder>;
	addOrder(id: number, status?: string): WooOrder;
	/** Answer every route with a 200 HTML page ("Plain" permalinks). */
	plainHtml: boolean;
}

const wooError = (status: number, code: string, message: string) => ({ status, body: { code, message, data: { status } } });

export async function startWooCommerceFake(creds: { consumerKey: string; consumerSecret: string }, options: Pick<FakeOptions, 'tls'> = {}): Promise<WooCommerceFake> {
	const orders = new Map<number, WooOrder>();
	let noteId = 280;
	const orderJson = (o: WooOrder) => ({ id: o.id, number: o.number, status: o.status, currency: 'USD', line_items: [], _links: {} });

	const handle = (req: FakeRequest) => {
		if (fake.plainHtml) return { status: 200, body: '<!doctype html><html><body>My Shop</body></html>' };
		const auth = basicCredentials(req.headers.authorization) ?? (req.query.consumer_key ? { user: req.query.consumer_key, password: req.query.consumer_secret ?? '' } : null);
		if (!auth) return wooError(401, 'woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.');
		if (auth.user !== creds.consumerKey) return wooError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
		if (auth.password !== creds.consumerSecret) return wooError(401, 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.');

		const route = `${req.method} ${req.path.replace(/\/[0-9]+(?=\/|$)/g, '/<id>')}`;
		const id = Number(/\/orders\/([0-9]+)/.exec(req.path)?.[1]);
		const order = orders.get(id);
		const body = (req.body ?? {}) as Record<string, unknown>;
		switch (route) {
			case 'GET /wp-json/wc/v3/system_status':
				return { status: 200, body: { environment: { home_url: 'https://shop.example.com', version: '9.4.0' }, settings: { currency: 'USD' } } };
			case 'GET /wp-json/wc/v3/orders': {
				const perPage = Math.max(1, Number(req.query.per_page ?? 10));
				return { status: 200, body: [...orders.values()].slice(0, perPage).map(orderJson) };
			}
			case 'GET /wp-json/wc/v3/orders/<id>':
				return order ? { status: 200, body: orderJson(order) } : wooError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
			case 'PUT /wp-json/wc/v3/orders/<id>': {
				if (!order) return wooError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
				if (body.status !== undefined && !WOO_STATUSES.includes(String(body.status))) return wooError(400, 'rest_invalid_param', 'Invalid parameter(s): status');
				if (typeof body.status === 'string') order.status = body.status;
				return { status: 200, body: orderJson(order) };
			}
			case 'POST /wp-json/wc/v3/orders/<id>/notes': {
				if (!order) return wooError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
				if (typeof body.note !== 'string' || body.note === '') return wooError(400, 'rest_missing_callback_param', 'Missing parameter(s): note');
				const note: WooNote = { id: ++noteId, note: body.note, customer_note: body.customer_note === true };
				order.notes.push(note);
				return { status: 201, body: { ...note, author: 'system', date_created: '2026-12-06T10:00:00', date_created_gmt: '2026-12-06T10:00:00' } };
			}
			default:
				return wooError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
		}
	};

	const server = await startFake(handle, { ...options, errorBody: (status) => ({ code: 'internal_server_error', message: 'There has been a critical error on this website.', data: { status } }) });
	const fake: WooCommerceFake = Object.assign(server, {
		orders,
		plainHtml: false,
		addOrder(id: number, status = 'processing'): WooOrder {
			const order: WooOrder = { id, number: String(id), status, notes: [] };
			orders.set(id, order);
			return order;
		},
	});
	return fake;
}
