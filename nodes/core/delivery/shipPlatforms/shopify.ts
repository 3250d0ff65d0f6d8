/**
 * The Shopify preset of Mark Shipped: pure request builders and answer readers for the GraphQL Admin
 * API (the calls run in run.ts through outbound/http.ts). Built from Shopify's documentation:
 *
 * - Endpoint and authentication — `POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json`
 *   with the token in the `X-Shopify-Access-Token` header:
 *   https://shopify.dev/docs/api/admin-graphql (Authentication, Endpoints and queries)
 * - Versions — a stable version every quarter (`YYYY-01/04/07/10`), each supported at least 12
 *   months: https://shopify.dev/docs/api/usage/versioning
 * - `FulfillmentOrder` (`status` OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED,
 *   INCOMPLETE; `supportedActions { action }`; `assignedLocation`):
 *   https://shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder and
 *   https://shopify.dev/docs/api/admin-graphql/latest/enums/FulfillmentOrderStatus
 * - `fulfillmentCreate(fulfillment: FulfillmentInput!)` → `{ fulfillment, userErrors { field message } }`;
 *   the fulfillment orders of one call belong to one order and one location; an empty line-item list
 *   fulfils every line item of the fulfillment order; `notifyCustomer` defaults to false; needs the
 *   `write_merchant_managed_fulfillment_orders` (or assigned / third-party) scope:
 *   https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate and
 *   https://shopify.dev/docs/api/admin-graphql/latest/input-objects/FulfillmentInput
 * - Errors — 401 for a missing or wrong token; GraphQL errors (e.g. `THROTTLED`, `ACCESS_DENIED`)
 *   come with 200 in `errors`: https://shopify.dev/docs/api/usage/response-codes
 * - Apps made in the Dev Dashboard (all new custom apps since 1 January 2026) get their token with
 *   the client credentials grant: `POST https://{shop}.myshopify.com/admin/oauth/access_token`
 *   (form: grant_type=client_credentials, client_id, client_secret) → `{access_token, scope,
 *   expires_in}`: https://shopify.dev/docs/apps/build/authentication-authorization/client-secrets and
 *   https://shopify.dev/docs/apps/build/dev-dashboard/get-api-access-tokens
 */
import { ValidationError } from '../../errors';
import type { HttpCall } from '../../outbound';
import { PlatformAnswerError, baseUrl, text, urlText, type PlatformCall, type ShopifyTarget } from './types';

/** A current stable version (released 1 October 2026, supported until October 2027 at least). */
export const DEFAULT_SHOPIFY_API_VERSION = '2026-10';

/** Fulfillment orders of one order (50 is far more than one order of card keys ever has). */
export const FULFILLMENT_ORDERS_QUERY = `query AutoDeliveryFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    name
    fulfillmentOrders(first: 50) {
      nodes { id status assignedLocation { name location { id } } supportedActions { action } }
    }
  }
}`;

export const FULFILLMENT_CREATE_MUTATION = `mutation AutoDeliveryFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}`;

export const SHOP_NAME_QUERY = '{ shop { name } }';

const SCOPES = 'read_orders, read_merchant_managed_fulfillment_orders and write_merchant_managed_fulfillment_orders';

/** The store's handle from `mystore`, `mystore.myshopify.com`, its URL or `admin.shopify.com/store/mystore`. */
export function shopifyHandle(shop: string): string {
	const raw = text(shop).replace(/^https?:\/\//i, '');
	const admin = /^admin\.shopify\.com\/store\/([^/?#]+)/i.exec(raw);
	const host = (admin ? admin[1] : raw.split(/[/?#]/)[0]).toLowerCase();
	const handle = host.endsWith('.myshopify.com') ? host.slice(0, -'.myshopify.com'.length) : host;
	if (handle === '') throw new ValidationError('shopifyShop', 'The Shopify Shop is empty: set it in the Auto Delivery Shop API credential, e.g. mystore (from mystore.myshopify.com).');
	if (!/^[a-z0-9][a-z0-9-]*$/.test(handle)) {
		throw new ValidationError('shopifyShop', `The Shopify Shop "${shop}" is not a myshopify.com store name. Use the part before .myshopify.com (Shopify admin > Settings > Domains), not a custom domain.`);
	}
	return handle;
}

/** The target with its fields checked; the Admin API root is `https://<shop>.myshopify.com` unless overridden. */
export function shopifyTarget(t: ShopifyTarget): ShopifyTarget & { adminUrl: string; apiVersion: string } {
	const override = text(t.adminUrl);
	const adminUrl = override !== '' ? urlText(baseUrl(override, 'shopifyAdminUrl', 'The Shopify Admin URL')) : `https://${shopifyHandle(t.shop)}.myshopify.com`;
	const apiVersion = text(t.apiVersion) || DEFAULT_SHOPIFY_API_VERSION;
	if (!/^(\d{4}-(01|04|07|10)|unstable)$/.test(apiVersion)) {
		throw new ValidationError('shopifyApiVersion', `The Shopify API Version "${apiVersion}" is not a Shopify version like ${DEFAULT_SHOPIFY_API_VERSION} (YYYY-01, -04, -07 or -10).`);
	}
	const accessToken = text(t.accessToken);
	const clientId = text(t.clientId);
	const clientSecret = text(t.clientSecret);
	if (accessToken === '' && (clientId === '' || clientSecret === '')) {
		throw new ValidationError('shopifyAccessToken', 'Set the Shopify Admin API Access Token, or the Client ID and Client Secret of your Dev Dashboard app, in the Auto Delivery Shop API credential.');
	}
	return { platform: 'shopify', shop: t.shop, adminUrl, apiVersion, accessToken, clientId, clientSecret };
}

export function shopifySecrets(t: ShopifyTarget): string[] {
	return [text(t.accessToken), text(t.clientSecret)].filter((s) => s !== '');
}

/** `gid://shopify/Order/<id>` from the delivery's order id (digits, or already a gid). */
export function shopifyOrderGid(orderId: string): string {
	if (/^[0-9]{1,20}$/.test(orderId)) return `gid://shopify/Order/${orderId}`;
	if (/^gid:\/\/shopify\/Order\/[0-9]{1,20}$/.test(orderId)) return orderId;
	throw new ValidationError(
		'orderId',
		`Shopify order ids are numbers (the order's "id", e.g. 5001234567890), but this delivery's order id is "${orderId}" — the order name (#1001) is not an id. Check what the Shop Webhook recorded, or use the Custom HTTP API platform.`,
	);
}

const timing = (call: PlatformCall) => ({ timeoutMs: call.timeoutMs, retries: call.retries, backoffMs: call.backoffMs });

/** Client credentials grant: a token for a Dev Dashboard app installed on the store. */
export function shopifyTokenCall(t: ShopifyTarget & { adminUrl: string }, call: PlatformCall): HttpCall {
	const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: text(t.clientId), client_secret: text(t.clientSecret) });
	return {
		method: 'POST',
		url: `${t.adminUrl}/admin/oauth/access_token`,
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form.toString(),
		...timing(call),
		secrets: shopifySecrets(t),
	};
}

export function readShopifyToken(data: unknown): { token: string; expiresInMs: number } {
	const o = isObject(data) ? data : {};
	if (typeof o.access_token !== 'string' || o.access_token === '') {
		throw new PlatformAnswerError('Shopify answered the token request without an access token. Check the Client ID and Client Secret, and that the app is installed on this store.', 'no_token');
	}
	const seconds = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : 3600;
	return { token: o.access_token, expiresInMs: seconds * 1000 };
}

/** One GraphQL request with the access token. */
export function shopifyGraphqlCall(t: ShopifyTarget & { adminUrl: string; apiVersion: string }, token: string, query: string, variables: Record<string, unknown>, call: PlatformCall): HttpCall {
	return {
		method: 'POST',
		url: `${t.adminUrl}/admin/api/${t.apiVersion}/graphql.json`,
		headers: { 'X-Shopify-Access-Token': token, 'Content-Type': 'application/json' },
		body: { query, variables },
		...timing(call),
		secrets: [...shopifySecrets(t), token],
	};
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** GraphQL `errors` of an answer as one sentence (with a hint for throttling and missing scopes); null when none. */
export function graphqlErrors(data: unknown): string | null {
	const errors = isObject(data) ? data.errors : undefined;
	if (errors === undefined || errors === null) return null;
	const list = Array.isArray(errors) ? errors : [errors];
	if (list.length === 0) return null;
	const codes = list.map((e) => (isObject(e) && isObject(e.extensions) ? String(e.extensions.code ?? '') : ''));
	const messages = list.map((e) => (isObject(e) ? String(e.message ?? '') : String(e))).filter((m) => m !== '');
	const said = messages.join('; ').slice(0, 300);
	if (codes.includes('THROTTLED')) return `Shopify throttled the request (API rate limit): ${said}. Ship it again in a minute.`;
	if (codes.includes('ACCESS_DENIED')) return `Shopify denied access: ${said}. The app needs the ${SCOPES} scopes.`;
	return `Shopify answered with an error: ${said}`;
}

function dataOf(data: unknown): Record<string, unknown> {
	const error = graphqlErrors(data);
	if (error !== null) throw new PlatformAnswerError(error, 'graphql_error');
	const d = isObject(data) ? data.data : undefined;
	if (!isObject(d)) throw new PlatformAnswerError('Shopify answered without GraphQL data. Check the Shop and the API Version.', 'no_data');
	return d;
}

export interface FulfillmentPlan {
	/** `#1001`, when Shopify gave it. */
	orderName: string | null;
	/** Open fulfillment orders, one list per location (one fulfillmentCreate each). */
	groups: string[][];
	/** Every fulfillment order is closed already: nothing left to fulfil. */
	alreadyFulfilled: boolean;
}

/** The answer to FULFILLMENT_ORDERS_QUERY: which fulfillment orders to fulfil, grouped by location. */
export function readFulfillmentOrders(data: unknown, gid: string): FulfillmentPlan {
	const d = dataOf(data);
	const order = d.order;
	if (!isObject(order)) {
		throw new PlatformAnswerError(`Shopify has no order ${gid} in this store. The delivery's order id must be Shopify's numeric order id (not the order name like #1001) of this store.`, 'order_not_found');
	}
	const orderName = typeof order.name === 'string' ? order.name : null;
	const connection = isObject(order.fulfillmentOrders) ? order.fulfillmentOrders : {};
	const nodes = (Array.isArray(connection.nodes) ? connection.nodes : []).filter(isObject);
	const actions = (n: Record<string, unknown>) => (Array.isArray(n.supportedActions) ? n.supportedActions.filter(isObject).map((a) => a.action) : []);
	const open = nodes.filter((n) => (n.status === 'OPEN' || n.status === 'IN_PROGRESS') && actions(n).includes('CREATE_FULFILLMENT') && typeof n.id === 'string');
	if (open.length > 0) {
		const groups = new Map<string, string[]>();
		for (const n of open) {
			const at = isObject(n.assignedLocation) ? n.assignedLocation : {};
			const key = isObject(at.location) && typeof at.location.id === 'string' ? at.location.id : String(at.name ?? '');
			groups.set(key, [...(groups.get(key) ?? []), n.id as string]);
		}
		return { orderName, groups: [...groups.values()], alreadyFulfilled: false };
	}
	const live = nodes.filter((n) => n.status !== 'CANCELLED');
	if (live.length > 0 && live.every((n) => n.status === 'CLOSED')) return { orderName, groups: [], alreadyFulfilled: true };
	const label = orderName ?? gid;
	if (nodes.length === 0) {
		throw new PlatformAnswerError(`Shopify shows no fulfillment orders for order ${label}. The app needs the ${SCOPES} scopes to see and fulfil them.`, 'no_fulfillment_orders');
	}
	const statuses = [...new Set(live.map((n) => String(n.status)))].join(', ');
	throw new PlatformAnswerError(
		`No fulfillment order of Shopify order ${label} can be fulfilled now (status ${statuses}): release a hold or wait for a scheduled date in the Shopify admin; orders assigned to a fulfillment service are fulfilled by that service.`,
		'not_fulfillable',
	);
}

/** Variables of FULFILLMENT_CREATE_MUTATION: every line item of these fulfillment orders. */
export function fulfillmentInput(fulfillmentOrderIds: string[], notifyCustomer: boolean): Record<string, unknown> {
	return { fulfillment: { lineItemsByFulfillmentOrder: fulfillmentOrderIds.map((fulfillmentOrderId) => ({ fulfillmentOrderId })), notifyCustomer } };
}

/** The answer to FULFILLMENT_CREATE_MUTATION: the fulfillment id, or the userErrors as a failure. */
export function readFulfillmentCreate(data: unknown): { fulfillmentId: string | null } {
	const payload = dataOf(data).fulfillmentCreate;
	if (!isObject(payload)) throw new PlatformAnswerError('Shopify answered fulfillmentCreate without a result.', 'no_data');
	const userErrors = Array.isArray(payload.userErrors) ? payload.userErrors.filter(isObject) : [];
	if (userErrors.length > 0) {
		const said = userErrors
			.map((e) => `${String(e.message ?? 'error')}${Array.isArray(e.field) && e.field.length ? ` (${e.field.join('.')})` : ''}`)
			.join('; ')
			.slice(0, 300);
		throw new PlatformAnswerError(`Shopify refused the fulfillment: ${said}`, 'user_errors');
	}
	const fulfillment = isObject(payload.fulfillment) ? payload.fulfillment : {};
	return { fulfillmentId: typeof fulfillment.id === 'string' ? fulfillment.id : null };
}

/** The credential test's reading of SHOP_NAME_QUERY. */
export function readShopName(data: unknown): string {
	const shop = dataOf(data).shop;
	return isObject(shop) && typeof shop.name === 'string' ? shop.name : '(unnamed)';
}
