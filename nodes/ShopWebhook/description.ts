/**
 * Shop Webhook's webhook (POST on the Path, answered as Respond says) and its parameters: events,
 * signature check, response, output shape, and the Field / Event Mapping for shops whose JSON
 * differs from the canonical order.
 */
import type { IDataObject, INodeProperties, INodePropertyOptions, IWebhookDescription } from 'n8n-workflow';

import { DEFAULT_SIGNATURE_HEADER, DEFAULT_TIMESTAMP_HEADER, FIELD_PATHS, type FieldPath } from '../core/intake';
import { optionsCollection } from '../shared/descriptions';
import { nativeWebhookFields } from '../shared/webhookFields';
import { platformProperties } from './platform.description';

/** Each field's template and the same computation as a function (n8n ≥ 2 skips its expression engine with it). */
export const webhookFields = {
	path: { template: '={{$parameter["path"]}}', resolve: (p: IDataObject) => p.path },
	responseMode: { template: '={{$parameter["responseMode"]}}', resolve: (p: IDataObject) => p.responseMode },
	// 202 for "Immediately", except for platforms whose push must be answered 200 with their own success fields (闲管家, 有赞)
	responseCode: {
		template: '={{$parameter["responseMode"] === "onReceived" && !["goofish", "youzan"].includes($parameter["platform"]) ? 202 : 200}}',
		resolve: (p: IDataObject) => (p.responseMode === 'onReceived' && !['goofish', 'youzan'].includes(String(p.platform)) ? 202 : 200),
	},
	responseData: {
		template: '={{$parameter["responseMode"] === "lastNode" ? ($parameter["responseData"] || "firstEntryJson") : undefined}}',
		resolve: (p: IDataObject) => (p.responseMode === 'lastNode' ? p.responseData || 'firstEntryJson' : undefined),
	},
};

export const webhookDescription: IWebhookDescription = {
	name: 'default',
	httpMethod: 'POST',
	isFullPath: true,
	...nativeWebhookFields(webhookFields),
};

const FIELD_LABELS: Record<FieldPath, string> = {
	event: 'Event',
	orderId: 'Order ID',
	shop: 'Shop',
	items: 'Items (Array of Order Lines)',
	'items.sku': 'Item SKU (in Each Line)',
	'items.name': 'Item Name (in Each Line)',
	'items.quantity': 'Item Quantity (in Each Line)',
	'items.price': 'Item Price (in Each Line)',
	buyer: 'Buyer (Object)',
	'buyer.id': 'Buyer ID',
	'buyer.name': 'Buyer Name',
	'buyer.email': 'Buyer Email',
	'buyer.ip': 'Buyer IP',
	amount: 'Amount',
	currency: 'Currency',
	paidAt: 'Paid At',
};

const FIELD_OPTIONS: INodePropertyOptions[] = FIELD_PATHS.map((path) => ({
	name: `${FIELD_LABELS[path]} (${path})`,
	value: path,
})).sort((a, b) => a.name.localeCompare(b.name));

export const properties: INodeProperties[] = [
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		default: 'auto-delivery/order-paid',
		required: true,
		placeholder: 'auto-delivery/order-paid',
		description:
			'The shop calls POST <n8n URL>/webhook/<path> (production) or /webhook-test/<path> (while testing in the editor). Each active workflow needs its own path.',
	},
	...platformProperties,
	{
		displayName: 'Events',
		name: 'events',
		type: 'options',
		options: [
			{ name: 'Order Paid', value: 'order.paid', description: 'Deliver: one item per order line' },
			{ name: 'Order Refunded', value: 'order.refunded', description: 'Revoke: one item per order' },
			{ name: 'Any', value: 'any', description: 'Both; route them with a Switch on the "event" field' },
		],
		default: 'order.paid',
		description:
			'Which events start the workflow. Other (valid, signed) events are answered 200 {"ignored": true} so the shop does not retry them.',
	},
	{
		displayName: 'Verify Signature',
		name: 'verifySignature',
		type: 'boolean',
		default: true,
		description:
			'Whether to accept only calls signed with the Webhook Signing Secret of the shop credential: X-Signature = "sha256=" + hex HMAC-SHA256(secret, "<X-Timestamp>.<raw body>"). Missing, forged or expired signatures are answered 401.',
	},
	{
		displayName:
			'Without a signature check anyone who knows this URL can submit orders. Turn this off only for testing or when the URL is protected otherwise.',
		name: 'unsignedNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { verifySignature: [false] } },
	},
	{
		displayName: 'Respond',
		name: 'responseMode',
		type: 'options',
		options: [
			{
				name: 'Immediately',
				value: 'onReceived',
				description: 'As soon as the order is accepted: 202 {"received": true, "orderId": …}',
			},
			{
				name: 'When Last Node Finishes',
				value: 'lastNode',
				description: 'Returns data of the last-executed node (200)',
			},
			{
				name: "Using 'Respond to Webhook' Node",
				value: 'responseNode',
				description: 'Response defined in that node (it must be version 1, see the notice)',
			},
		],
		default: 'onReceived',
		description: 'When and how to answer an accepted call. Rejected and ignored calls are always answered at once.',
	},
	{
		displayName:
			"n8n's Respond to Webhook node answers for this trigger only in its version 1 (newer versions accept only n8n's own Webhook trigger). Paste it with \"typeVersion\": 1, or choose \"When Last Node Finishes\".",
		name: 'respondNodeNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { responseMode: ['responseNode'] } },
	},
	{
		displayName: 'Response Data',
		name: 'responseData',
		type: 'options',
		options: [
			{ name: 'All Entries', value: 'allEntries', description: 'All items of the last node, as an array' },
			{ name: 'First Entry JSON', value: 'firstEntryJson', description: 'The JSON of the first item of the last node' },
			{ name: 'No Response Body', value: 'noData', description: 'An empty body' },
		],
		default: 'firstEntryJson',
		description: 'What the shop receives when the workflow has finished',
		displayOptions: { show: { responseMode: ['lastNode'] } },
	},
	{
		displayName: 'Paid Order Output',
		name: 'paidOutput',
		type: 'options',
		options: [
			{
				name: 'One Item per Order Line',
				value: 'line',
				description: 'Fields sku, name, quantity, price, line, lines on each item: ready for Claim Key',
			},
			{ name: 'One Item per Order', value: 'order', description: 'The order lines in "items"' },
		],
		default: 'line',
		displayOptions: { hide: { events: ['order.refunded'] } },
	},
	{
		displayName: 'Field Mapping',
		name: 'fieldMapping',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Field Mapping',
		default: {},
		description:
			"For shops whose JSON differs from the canonical order: where each field is in the shop's JSON (dotted path, numbers index arrays). Item fields are relative to each element of the items array.",
		options: [
			{
				name: 'fields',
				displayName: 'Field',
				values: [
					{
						displayName: 'Order Field',
						name: 'field',
						type: 'options',
						options: FIELD_OPTIONS,
						default: 'orderId',
					},
					{
						displayName: 'Path in Shop JSON',
						name: 'path',
						type: 'string',
						default: '',
						placeholder: 'e.g. data.tid',
					},
				],
			},
		],
	},
	{
		displayName: 'Event Mapping',
		name: 'eventMapping',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Event Mapping',
		default: {},
		// A preset reads the platform's own events.
		displayOptions: { show: { platform: ['canonical', 'generic'] } },
		description:
			'The shop\'s own event names (exact match), e.g. TRADE_PAID → Order Paid. "order.paid" and "order.refunded" are always understood; any other unmapped value is answered 400.',
		options: [
			{
				name: 'values',
				displayName: 'Event',
				values: [
					{
						displayName: 'Shop Event Value',
						name: 'value',
						type: 'string',
						default: '',
						placeholder: 'e.g. TRADE_PAID',
					},
					{
						displayName: 'Means',
						name: 'event',
						type: 'options',
						options: [
							{ name: 'Order Paid', value: 'order.paid' },
							{ name: 'Order Refunded', value: 'order.refunded' },
							{
								name: 'Ignore (Answer 200)',
								value: 'ignore',
								description: 'Acknowledge without starting the workflow, e.g. TRADE_CLOSED',
							},
						],
						default: 'order.paid',
					},
				],
			},
		],
	},
	optionsCollection([
		{
			displayName: 'Accept Any Content Type',
			name: 'acceptAnyContentType',
			type: 'boolean',
			default: false,
			description:
				'Whether to read the body as JSON whatever its Content-Type says. Off: only application/json (and *+json) in UTF-8 is accepted, anything else is answered 415.',
		},
		{
			displayName: 'Max Body Size (kB)',
			name: 'maxBodyKb',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 16000, numberPrecision: 0 },
			default: 1000,
			description: 'Larger bodies are answered 413 (1 kB = 1000 bytes)',
		},
		{
			displayName: 'Signature Header',
			name: 'signatureHeader',
			type: 'string',
			default: DEFAULT_SIGNATURE_HEADER,
			description: 'Header carrying "sha256=<hex>"',
		},
		{
			displayName: 'Timestamp Header',
			name: 'timestampHeader',
			type: 'string',
			default: DEFAULT_TIMESTAMP_HEADER,
			description: 'Header carrying the unix time (seconds) that is signed with the body',
		},
		{
			displayName: 'Timestamp Tolerance (Seconds)',
			name: 'toleranceSeconds',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 86400, numberPrecision: 0 },
			default: 300,
			description: 'How far the signed time may be from now, in the past or the future (replay protection)',
		},
	]),
];
