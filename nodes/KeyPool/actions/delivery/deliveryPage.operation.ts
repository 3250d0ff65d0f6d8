import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { deliveryPage, errorPage, pickLanguage, type PageLanguage } from '../../../core/delivery';
import { optionsCollection } from '../../../shared/descriptions';
import type { Emit, StoreSetup } from '../../../shared/runner';
import { runsAsTool } from '../../../shared/tool';

const show = { show: { operation: ['deliveryPage'] } };

/**
 * Serves the buyer's delivery page (DESIGN §7): the bundled delivery-page workflow is
 * Webhook (GET) → this → Respond to Webhook. The page holds the order's keys, so the workflow keeps
 * no execution data (its settings) and this operation refuses to run as an AI agent's tool.
 */
export const description: INodeProperties[] = [
	{
		displayName: 'Link Parameters',
		name: 'linkQuery',
		type: 'json',
		default: '={{ $json.query }}',
		description: "The query of the request (the Webhook node's <code>query</code>): the order (o, s), expiry (e) and signature (t) of the link",
		displayOptions: show,
	},
	{
		displayName: 'Accept-Language',
		name: 'acceptLanguage',
		type: 'string',
		default: '={{ $json.headers["accept-language"] }}',
		description: "The browser's Accept-Language header: the page is in Chinese or English accordingly",
		displayOptions: show,
	},
	{
		displayName: 'Viewer IP',
		name: 'viewerIp',
		type: 'string',
		default: '={{ $json.headers["x-forwarded-for"] }}',
		description: 'Recorded with each view (audit event "viewed"). Behind a reverse proxy: the X-Forwarded-For header it sets (the first address is used).',
		displayOptions: show,
	},
	optionsCollection(
		[
			{
				displayName: 'Count a View as Delivery',
				name: 'countAsDelivery',
				type: 'boolean',
				default: true,
				description: 'Whether opening the page records the send of lines that were claimed but not sent yet (channel "page"), so that Mark Shipped may follow. The page is then a delivery channel like email.',
			},
			{
				displayName: 'Views per Minute per Link',
				name: 'viewsPerMinute',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				default: 30,
				description: 'More views of one link within a minute get "429 Too Many Requests" and nothing else',
			},
			{
				displayName: 'Refresh Every (Seconds)',
				name: 'refreshSeconds',
				type: 'number',
				typeOptions: { minValue: 5, numberPrecision: 0 },
				default: 30,
				description: 'While something of the order is not delivered yet, the page reloads itself this often',
			},
			{
				displayName: 'Default Language',
				name: 'defaultLanguage',
				type: 'options',
				options: [
					{ name: '中文', value: 'zh' },
					{ name: 'English', value: 'en' },
				],
				default: 'zh',
				description: 'When Accept-Language names neither Chinese nor English',
			},
			{
				displayName: 'Shop Name',
				name: 'shopName',
				type: 'string',
				default: '',
				description: 'Shown under the title',
			},
			{
				displayName: 'Contact',
				name: 'contact',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '',
				description: 'What the buyer should do if something is wrong (default: contact the seller in the shop chat with the order ID)',
			},
		],
		{ displayOptions: show },
	),
];

function queryOf(v: unknown): Record<string, unknown> | null {
	if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
	if (typeof v === 'string' && v.trim().startsWith('{')) {
		try {
			const parsed = JSON.parse(v) as unknown;
			return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
		} catch {
			return null;
		}
	}
	return null;
}

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	if (runsAsTool(this)) {
		throw new NodeOperationError(this.getNode(), 'Open Delivery Page shows keys in plain text and cannot be used as an AI agent tool.', { itemIndex: i });
	}
	const opts = this.getNodeParameter('options', i, {}) as IDataObject;
	const language: PageLanguage = pickLanguage(this.getNodeParameter('acceptLanguage', i, ''), opts.defaultLanguage === 'en' ? 'en' : 'zh');
	const check = store.checkDeliveryLink(queryOf(this.getNodeParameter('linkQuery', i, {})));
	if (!check.ok) {
		const answer = errorPage(check.reason, language);
		emit(0, { ...answer, reason: check.reason });
		return;
	}
	const ipHeader = this.getNodeParameter('viewerIp', i, '');
	const ip = typeof ipHeader === 'string' && ipHeader.trim() !== '' ? ipHeader.split(',')[0].trim().slice(0, 64) : null;
	const view = await store.viewOrder({
		shop: check.shop,
		orderId: check.orderId,
		ip,
		limitPerMinute: opts.viewsPerMinute === undefined ? undefined : Number(opts.viewsPerMinute),
		countAsDelivery: opts.countAsDelivery !== false,
		actor,
	});
	const answer = deliveryPage(check.orderId, view, {
		language,
		refreshSeconds: opts.refreshSeconds === undefined ? undefined : Number(opts.refreshSeconds),
		shopName: (opts.shopName as string) || null,
		contact: (opts.contact as string) || null,
	});
	const shop = check.shop === '' ? null : check.shop;
	emit(0, {
		...answer,
		orderId: check.orderId,
		shop,
		firstView: view.firstView,
		shipNow: view.shipNow,
		lines: view.lines.map((l) => ({ deliveryId: l.delivery.id, sku: l.delivery.sku, status: l.delivery.status })),
	});
}
