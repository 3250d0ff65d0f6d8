import {
	NodeConnectionTypes,
	NodeOperationError,
	WorkflowConfigurationError,
	type IDataObject,
	type INode,
	type INodeExecutionData,
	type INodePropertyOptions,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';
import type { ServerResponse } from 'http';

import { FIELD_PATHS, type FieldPath, type OrderMapping } from '../core/intake';
import {
	DEFAULT_SIGNATURE_HEADER,
	DEFAULT_TIMESTAMP_HEADER,
	WebhookConfigError,
	decideWebhook,
	readRawBody,
	resolveWebhookSettings,
	type EventFilter,
	type EventMeaning,
	type PaidOutput,
	type RawBodyRequest,
	type WebhookSettings,
} from '../core/intake';
import { SHOP_API_CREDENTIAL, testShopApiCredential } from '../shared/shopApi';

const RESPOND_TO_WEBHOOK = 'n8n-nodes-base.respondToWebhook';

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

/** An n8n error class for workflow configuration mistakes (its message reaches the caller); older n8n lacks it. */
function configError(node: INode, message: string, description: string): NodeOperationError {
	return typeof WorkflowConfigurationError === 'function'
		? new WorkflowConfigurationError(node, message, { description })
		: new NodeOperationError(node, message, { description });
}

/**
 * "Using 'Respond to Webhook' Node": fail before the order is processed when the answer could
 * never be sent. n8n's Respond to Webhook node from version 1.1 on refuses to run unless n8n's own
 * Webhook / Form / Chat trigger or Wait node is upstream, so only its version 1 can answer for this
 * trigger.
 */
function checkRespondNode(ctx: IWebhookFunctions, responseMode: string): void {
	if (responseMode !== 'responseNode' || typeof ctx.getChildNodes !== 'function') return; // (very old n8n: no check)
	const responders = ctx
		.getChildNodes(ctx.getNode().name)
		.filter((n) => n.type === RESPOND_TO_WEBHOOK && n.disabled !== true);
	if (responders.length === 0) {
		throw configError(
			ctx.getNode(),
			'No Respond to Webhook node found in the workflow',
			'Insert a Respond to Webhook node (version 1) after Shop Webhook, or set "Respond" to "Immediately" or "When Last Node Finishes".',
		);
	}
	const strict = responders.filter((n) => Number(n.typeVersion) > 1);
	if (strict.length > 0) {
		const names = strict.map((n) => `"${n.name}" (version ${n.typeVersion})`).join(', ');
		throw configError(
			ctx.getNode(),
			`Respond to Webhook ${names} cannot answer for Shop Webhook`,
			"n8n's Respond to Webhook node from version 1.1 on only answers for n8n's own Webhook trigger and would fail after the order was processed. Use a Respond to Webhook node of version 1 (set \"typeVersion\": 1 in the workflow JSON), or set \"Respond\" to \"When Last Node Finishes\".",
		);
	}
}

interface MappingRows {
	fields?: Array<{ field?: string; path?: string }>;
}
interface EventRows {
	values?: Array<{ value?: string; event?: string }>;
}

/** The node parameters → core settings (without the secret). Throws WebhookConfigError for duplicates. */
function settingsFromParameters(ctx: IWebhookFunctions): WebhookSettings {
	const options = ctx.getNodeParameter('options', {}) as IDataObject;
	const mapping: OrderMapping = {};
	for (const row of (ctx.getNodeParameter('fieldMapping', {}) as MappingRows).fields ?? []) {
		const field = String(row.field ?? '') as FieldPath;
		if (Object.prototype.hasOwnProperty.call(mapping, field)) {
			throw new WebhookConfigError(`mapping.${field}`, `Field Mapping: "${field}" is mapped twice.`);
		}
		mapping[field] = String(row.path ?? '').trim();
	}
	const eventValues: Record<string, EventMeaning> = {};
	for (const row of (ctx.getNodeParameter('eventMapping', {}) as EventRows).values ?? []) {
		const value = String(row.value ?? '').trim();
		if (Object.prototype.hasOwnProperty.call(eventValues, value)) {
			throw new WebhookConfigError(`eventValues.${value}`, `Event Mapping: "${value}" is mapped twice.`);
		}
		eventValues[value] = String(row.event ?? '') as EventMeaning;
	}
	const events = ctx.getNodeParameter('events', 'order.paid') as EventFilter;
	const maxKb = options.maxBodyKb === undefined ? 1000 : Number(options.maxBodyKb);
	return {
		events,
		verifySignature: ctx.getNodeParameter('verifySignature', true) as boolean,
		signatureHeader: (options.signatureHeader as string | undefined) || DEFAULT_SIGNATURE_HEADER,
		timestampHeader: (options.timestampHeader as string | undefined) || DEFAULT_TIMESTAMP_HEADER,
		toleranceSeconds: options.toleranceSeconds === undefined ? undefined : Number(options.toleranceSeconds),
		maxBodyBytes: Math.round(maxKb * 1000),
		acceptAnyContentType: options.acceptAnyContentType === true,
		mapping: Object.keys(mapping).length > 0 ? mapping : undefined,
		eventValues,
		paidOutput: events === 'order.refunded' ? 'line' : (ctx.getNodeParameter('paidOutput', 'line') as PaidOutput),
	};
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
	if (res.headersSent) return;
	const text = JSON.stringify(body);
	res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
	res.end(text);
}

export class ShopWebhook implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Shop Webhook',
		name: 'shopWebhook',
		icon: { light: 'file:shopWebhook.svg', dark: 'file:shopWebhook.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"] === "any" ? "any event" : $parameter["events"]}}',
		description:
			'Starts the workflow when the shop reports a paid or refunded order: checks the HMAC signature, validates the order and answers 401/400 without starting the workflow on bad input',
		defaults: { name: 'Shop Webhook' },
		eventTriggerDescription: 'Waiting for you to call the Test URL',
		activationMessage: 'The shop can now call the production URL.',
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: SHOP_API_CREDENTIAL,
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				displayOptions: { show: { verifySignature: [true] } },
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				isFullPath: true,
				path: '={{$parameter["path"]}}',
				responseMode: '={{$parameter["responseMode"]}}',
				responseCode: '={{$parameter["responseMode"] === "onReceived" ? 202 : 200}}',
				responseData:
					'={{$parameter["responseMode"] === "lastNode" ? ($parameter["responseData"] || "firstEntryJson") : undefined}}',
			},
		],
		properties: [
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
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
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
				],
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryShopApiTest: testShopApiCredential },
	};

	/** The shop is configured by hand (it is given the URL), so there is nothing to register remotely. */
	webhookMethods = {
		default: {
			async checkExists(this: unknown): Promise<boolean> {
				return true;
			},
			async create(this: unknown): Promise<boolean> {
				return true;
			},
			async delete(this: unknown): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const node = this.getNode();
		const req = this.getRequestObject() as unknown as RawBodyRequest & { method?: string };
		const res = this.getResponseObject() as unknown as ServerResponse;
		const responseMode = this.getNodeParameter('responseMode', 'onReceived') as string;
		checkRespondNode(this, responseMode);

		let settings: WebhookSettings;
		try {
			settings = settingsFromParameters(this);
			if (settings.verifySignature !== false) {
				const credentials = await this.getCredentials(SHOP_API_CREDENTIAL);
				settings.secret = typeof credentials.signingSecret === 'string' ? credentials.signingSecret : '';
			}
			resolveWebhookSettings(settings);
		} catch (error) {
			// A configuration problem, not the caller's: n8n answers 500 (the shop retries later) and
			// records a failed execution with this message. Never contains the secret.
			throw error instanceof WebhookConfigError
				? new NodeOperationError(node, error.message, {
						description: 'Shop Webhook is misconfigured; calls are answered 500 and no order is processed until this is fixed.',
					})
				: new NodeOperationError(node, error as Error);
		}

		const raw = await readRawBody(req, settings.maxBodyBytes ?? 1_000_000);
		if (raw.source === 'parsedBody' && settings.verifySignature !== false) {
			throw new NodeOperationError(node, 'The raw request body is not available, so the signature cannot be checked', {
				description:
					'Something before this node consumed the request body. Shop Webhook needs the exact bytes the shop signed (req.rawBody in n8n).',
			});
		}

		const decision = decideWebhook(
			{ method: req.method, headers: req.headers, rawBody: raw.rawBody, truncated: raw.truncated },
			settings,
		);
		if (decision.action !== 'accept') {
			writeJson(res, decision.status, decision.body, decision.headers);
			const detail = decision.action === 'reject' ? decision.body.error : decision.body.message;
			const message = `Shop Webhook "${node.name}" answered ${decision.status} without starting the workflow: ${detail}`;
			if (decision.action === 'reject') this.logger.warn(message, { status: decision.status, field: decision.body.field });
			else this.logger.info(message, { status: decision.status });
			return { noWebhookResponse: true };
		}

		const items: INodeExecutionData[] = decision.items.map((json) => ({ json: json as unknown as IDataObject }));
		return {
			workflowData: [items],
			...(responseMode === 'onReceived' ? { webhookResponse: decision.ack } : {}),
		};
	}
}
