import {
	NodeApiError,
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';

import { maskKey } from '../core/secrets';
import { StoreError } from '../core/errors';
import type { KeyStore } from '../core/store';
import {
	DEFAULT_WEBHOOK_BODY,
	NotifyError,
	findTargets,
	keyStrings,
	notifyDelivery,
	prepareChannel,
	type NotifyChannel,
	type NotifyInfo,
	type NotifyResult,
} from '../core/delivery';
import { DEFAULT_TEMPLATES, DEFAULT_TIME_ZONE } from '../core/delivery';
import { SMTP_CREDENTIAL, smtpConfigFromCredentials, testSmtpCredential } from '../shared/notify';
import { SHOP_API_CREDENTIAL, shopTargetFromCredentials, testShopApiCredential } from '../shared/shopApi';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

const VARIABLES_HINT =
	'Variables: {productName} {deliveryContent} {orderId} {buyerName} {quantity} {date} — or 中文 {商品名称} {发货内容} {订单号} {买家昵称} {数量} {购买日期}';

/** n8n rewrites messages containing common error codes (ECONNREFUSED, …) to generic ones; keep ours. */
function keepMessage<T extends Error>(error: T, message: string): T {
	error.message = message;
	return error;
}

function nodeErrorFor(node: INode, err: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (err instanceof NotifyError) {
		const where = err.delivery ? `delivery ${err.delivery.id} (order ${err.delivery.orderId}, SKU ${err.delivery.sku})` : 'the delivery';
		if (err.code === 'send_failed') {
			const description = `Recorded as send_failed on ${where}; it was not marked sent and can be sent again (Send, or Resend). ${
				err.detail.transient ? 'The server reported a temporary problem: retrying later may work.' : ''
			}`.trim();
			const e = new NodeApiError(node, { message: err.message, code: err.code } as JsonObject, {
				message: err.message,
				description,
				itemIndex,
				httpCode: err.detail.httpStatus ? String(err.detail.httpStatus) : undefined,
			});
			return keepMessage(e, err.message);
		}
		return keepMessage(new NodeOperationError(node, err.message, { itemIndex, description: err.code === 'busy' ? `Nothing was recorded for ${where}.` : undefined }), err.message);
	}
	const e = toNodeError(node, err, itemIndex);
	return err instanceof StoreError ? keepMessage(e, err.message) : e;
}

export class NotifyBuyer implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Notify Buyer',
		name: 'notifyBuyer',
		icon: { light: 'file:notifyBuyer.svg', dark: 'file:notifyBuyer.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] === "resend" ? "Resend" : "Send"}} by {{$parameter["channel"] === "webhook" ? "webhook" : "email"}}',
		description: 'Send the delivered keys (卡密) to the buyer by email or webhook and record the send; resend on request',
		defaults: { name: 'Notify Buyer' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' },
			{ name: 'autoDeliverySmtp', required: true, testedBy: 'autoDeliverySmtpTest', displayOptions: { show: { channel: ['email'] } } },
			{
				name: 'autoDeliveryShopApi',
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				displayOptions: { show: { channel: ['webhook'], webhookAuth: ['shopApi'] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Send',
						value: 'send',
						action: 'Send the delivery to the buyer',
						description: 'Send the content once; a delivery already sent is not sent again (alreadySent)',
					},
					{
						name: 'Resend',
						value: 'resend',
						action: 'Resend a delivery to the buyer',
						description: 'Send an existing delivery again, e.g. when the buyer says nothing arrived',
					},
				],
				default: 'send',
			},
			{
				displayName: 'Find Delivery By',
				name: 'findBy',
				type: 'options',
				options: [
					{ name: 'Delivery ID', value: 'deliveryId', description: 'The delivery ID from Claim Key' },
					{ name: 'Order ID (and SKU)', value: 'order', description: 'Every line of the order, or one SKU' },
				],
				default: 'deliveryId',
			},
			{
				displayName: 'Delivery ID',
				name: 'deliveryId',
				type: 'string',
				default: '={{ $json.deliveryId }}',
				required: true,
				displayOptions: { show: { findBy: ['deliveryId'] } },
				description: 'ID of the delivery (the deliveryId output of Claim Key)',
			},
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '={{ $json.orderId }}',
				required: true,
				displayOptions: { show: { findBy: ['order'] } },
			},
			{
				displayName: 'Shop',
				name: 'shop',
				type: 'string',
				default: '={{ $json.shop }}',
				displayOptions: { show: { findBy: ['order'] } },
				description: 'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.',
			},
			{
				displayName: 'SKU',
				name: 'sku',
				type: 'string',
				default: '',
				displayOptions: { show: { findBy: ['order'] } },
				description: 'Empty: every line of the order (one output item per line)',
			},
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Email', value: 'email', description: 'Through the Auto Delivery SMTP credential' },
					{ name: 'Webhook', value: 'webhook', description: 'HTTP call with a JSON body: IM bots, SMS gateways, the shop message API' },
				],
				default: 'email',
			},

			// ---------------------------------------------------------------- email
			{
				displayName: 'To',
				name: 'toEmail',
				type: 'string',
				default: '={{ $json.buyer.email }}',
				placeholder: 'name@email.com',
				displayOptions: { show: { channel: ['email'] } },
				description: 'The buyer email address. Empty: the buyer email recorded with the delivery.',
			},
			{
				displayName: 'Subject',
				name: 'subject',
				type: 'string',
				default: DEFAULT_TEMPLATES.subject,
				displayOptions: { show: { channel: ['email'] } },
				description: VARIABLES_HINT,
			},
			{
				displayName: 'Email Format',
				name: 'emailFormat',
				type: 'options',
				options: [
					{ name: 'Text and HTML', value: 'both' },
					{ name: 'Text', value: 'text' },
					{ name: 'HTML', value: 'html' },
				],
				default: 'both',
				displayOptions: { show: { channel: ['email'] } },
			},
			{
				displayName: 'Text Body',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 8 },
				default: DEFAULT_TEMPLATES.text,
				displayOptions: { show: { channel: ['email'], emailFormat: ['both', 'text'] } },
				description: VARIABLES_HINT,
			},
			{
				displayName: 'HTML Body',
				name: 'html',
				type: 'string',
				typeOptions: { rows: 8 },
				default: DEFAULT_TEMPLATES.html,
				displayOptions: { show: { channel: ['email'], emailFormat: ['both', 'html'] } },
				description: `${VARIABLES_HINT}. Values are HTML-escaped.`,
			},

			// ---------------------------------------------------------------- webhook
			{
				displayName: 'Authentication',
				name: 'webhookAuth',
				type: 'options',
				options: [
					{ name: 'None (Headers Below)', value: 'none' },
					{ name: 'Auto Delivery Shop API Credential', value: 'shopApi', description: 'The shop base URL and its token' },
				],
				default: 'none',
				displayOptions: { show: { channel: ['webhook'] } },
			},
			{
				displayName: 'URL',
				name: 'webhookUrl',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'https://oapi.dingtalk.com/robot/send?access_token=…',
				displayOptions: { show: { channel: ['webhook'] } },
				description: 'Where to send the message. With the Shop API credential: a path relative to its Base URL (e.g. /messages).',
			},
			{
				displayName: 'Method',
				name: 'webhookMethod',
				type: 'options',
				options: [
					{ name: 'POST', value: 'POST' },
					{ name: 'PUT', value: 'PUT' },
					{ name: 'PATCH', value: 'PATCH' },
				],
				default: 'POST',
				displayOptions: { show: { channel: ['webhook'] } },
			},
			{
				displayName: 'Headers',
				name: 'webhookHeaders',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Header',
				default: {},
				displayOptions: { show: { channel: ['webhook'] } },
				options: [
					{
						displayName: 'Header',
						name: 'header',
						values: [
							{ displayName: 'Name', name: 'name', type: 'string', default: '' },
							{ displayName: 'Value', name: 'value', type: 'string', default: '' },
						],
					},
				],
			},
			{
				displayName: 'JSON Body',
				name: 'jsonBody',
				type: 'string',
				typeOptions: { rows: 10 },
				default: DEFAULT_WEBHOOK_BODY,
				displayOptions: { show: { channel: ['webhook'] } },
				description: `${VARIABLES_HINT}. Values are JSON-escaped, so the body stays valid JSON; put them inside quotes ({quantity} may stand alone).`,
			},

			{
				displayName: 'Include Keys in Output',
				name: 'includeKeys',
				type: 'boolean',
				default: false,
				description:
					'Whether to output the keys in plain text. Off (recommended): keys are masked like ABCD…WXYZ. On: plain keys are stored in n8n execution data.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'BCC',
						name: 'bcc',
						type: 'string',
						default: '',
						placeholder: 'archive@example.com',
						description: 'Comma-separated addresses that get a blind copy (e.g. your own archive)',
						displayOptions: { show: { '/channel': ['email'] } },
					},
					{
						displayName: 'Ignore SSL Issues (Insecure)',
						name: 'ignoreSsl',
						type: 'boolean',
						default: false,
						description: 'Whether to accept self-signed certificates from the webhook server',
						displayOptions: { show: { '/channel': ['webhook'] } },
					},
					{
						displayName: 'Max Retries',
						name: 'retries',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 5, numberPrecision: 0 },
						default: 3,
						description: 'Extra attempts on 5xx answers, timeouts and dropped connections (never on 4xx)',
						displayOptions: { show: { '/channel': ['webhook'] } },
					},
					{
						displayName: 'Message ID Field',
						name: 'messageIdField',
						type: 'string',
						default: '',
						placeholder: 'data.id',
						description: 'Dotted path of the message ID in the JSON answer, recorded with the send. Empty: messageId, message_id, msgid, ID, reference, data.ID, result.message_id are tried.',
						displayOptions: { show: { '/channel': ['webhook'] } },
					},
					{
						displayName: 'Reply-To',
						name: 'replyTo',
						type: 'string',
						default: '',
						placeholder: 'support@example.com',
						displayOptions: { show: { '/channel': ['email'] } },
					},
					{
						displayName: 'Retry Delay (Ms)',
						name: 'backoffMs',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 60000, numberPrecision: 0 },
						default: 500,
						description: 'Wait before the first retry; doubles for each further retry',
						displayOptions: { show: { '/channel': ['webhook'] } },
					},
					{
						displayName: 'Time Zone',
						name: 'timeZone',
						type: 'string',
						default: DEFAULT_TIME_ZONE,
						placeholder: 'Asia/Shanghai',
						description: 'IANA time zone of {date} / {购买日期}',
					},
					{
						displayName: 'Timeout (Ms)',
						name: 'timeoutMs',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 300000, numberPrecision: 0 },
						default: 10000,
						description: 'Per attempt',
						displayOptions: { show: { '/channel': ['webhook'] } },
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			autoDeliveryKeyStoreTest: testKeyStoreCredential,
			autoDeliverySmtpTest: testSmtpCredential,
			autoDeliveryShopApiTest: testShopApiCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		const failed = (i: number, json: IDataObject, message: string, notify: Partial<NotifyInfo> = {}) =>
			out.push({
				json: {
					...maskedInput(json),
					notify: { sent: false, alreadySent: false, resent: false, channel: null, recipient: null, messageId: null, sentAt: null, sendCount: 0, ...notify, error: message },
				},
				pairedItem: { item: i },
			});

		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			items.forEach((item, i) => failed(i, item.json, (error as Error).message));
			return [out];
		}
		const actor = actorOf(this);
		let smtp: ReturnType<typeof smtpConfigFromCredentials> | undefined;
		let shop: ReturnType<typeof shopTargetFromCredentials> | undefined;

		for (let i = 0; i < items.length; i++) {
			const input = items[i].json;
			let request: { resend: boolean; channel: NotifyChannel; timeZone: string | null; includeKeys: boolean; targets: number[] };
			try {
				const operation = this.getNodeParameter('operation', i) as string;
				const findBy = this.getNodeParameter('findBy', i) as string;
				const kind = this.getNodeParameter('channel', i) as 'email' | 'webhook';
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				let channel: NotifyChannel;
				if (kind === 'email') {
					smtp ??= smtpConfigFromCredentials(await this.getCredentials(SMTP_CREDENTIAL));
					const format = this.getNodeParameter('emailFormat', i) as string;
					channel = {
						kind: 'email',
						smtp,
						to: String(this.getNodeParameter('toEmail', i, '') ?? ''),
						subject: this.getNodeParameter('subject', i) as string,
						text: format === 'html' ? null : (this.getNodeParameter('text', i) as string),
						html: format === 'text' ? null : (this.getNodeParameter('html', i) as string),
						bcc: (options.bcc as string) || null,
						replyTo: (options.replyTo as string) || null,
					};
				} else {
					const useShop = this.getNodeParameter('webhookAuth', i) === 'shopApi';
					if (useShop) shop ??= shopTargetFromCredentials(await this.getCredentials(SHOP_API_CREDENTIAL));
					const headerList = ((this.getNodeParameter('webhookHeaders', i, {}) as IDataObject).header ?? []) as Array<{ name?: string; value?: string }>;
					const headers: Record<string, string> = {};
					for (const h of headerList) if (h.name && String(h.name).trim()) headers[String(h.name).trim()] = String(h.value ?? '');
					channel = {
						kind: 'webhook',
						url: this.getNodeParameter('webhookUrl', i) as string,
						method: this.getNodeParameter('webhookMethod', i) as string,
						headers,
						body: this.getNodeParameter('jsonBody', i) as string,
						messageIdField: (options.messageIdField as string) || null,
						timeoutMs: options.timeoutMs as number | undefined,
						retries: options.retries as number | undefined,
						backoffMs: options.backoffMs as number | undefined,
						ignoreSsl: options.ignoreSsl === true,
						shop: useShop ? shop : null,
					};
				}
				prepareChannel(channel); // bad settings fail before the store is asked anything
				request = {
					resend: operation === 'resend',
					channel,
					timeZone: (options.timeZone as string) || null,
					includeKeys: this.getNodeParameter('includeKeys', i) as boolean,
					targets: await findTargets(
						store,
						findBy === 'order'
							? { orderId: this.getNodeParameter('orderId', i) as string, shop: this.getNodeParameter('shop', i, '') as string, sku: this.getNodeParameter('sku', i, '') as string }
							: { deliveryId: this.getNodeParameter('deliveryId', i) as string },
					),
				};
			} catch (error) {
				const nodeError = nodeErrorFor(this.getNode(), error, i);
				if (!this.continueOnFail()) throw nodeError;
				failed(i, input, nodeError.message);
				continue;
			}

			const buyer = input.buyer && typeof input.buyer === 'object' ? (input.buyer as IDataObject) : null;
			for (const deliveryId of request.targets) {
				try {
					const result = await notifyDelivery(store, {
						deliveryId,
						resend: request.resend,
						channel: request.channel,
						timeZone: request.timeZone,
						buyerNameFallback: typeof buyer?.name === 'string' ? buyer.name : null,
						reveal: request.includeKeys,
						actor,
					});
					out.push({ json: itemFor(input, result), pairedItem: { item: i } });
				} catch (error) {
					const nodeError = nodeErrorFor(this.getNode(), error, i);
					if (!this.continueOnFail()) throw nodeError;
					const d = error instanceof NotifyError ? error.delivery : null;
					failed(
						i,
						{ ...input, ...(d ? { deliveryId: d.id, orderId: d.orderId, sku: d.sku, status: d.status } : { deliveryId }) },
						nodeError.message,
						error instanceof NotifyError ? { channel: error.channel, recipient: error.recipient, sendCount: d?.sendCount ?? 0 } : {},
					);
				}
			}
		}
		return [out];
	}
}

/** Plain keys an upstream node passed on (Claim Key with Include Keys) are masked in a failed item. */
function maskedInput(json: IDataObject): IDataObject {
	if (json.keysMasked === false && Array.isArray(json.keys)) return { ...json, keys: json.keys.map((k) => maskKey(String(k))), keysMasked: true };
	return { ...json };
}

/** The input item (kept, so buyer etc. flow on) with the delivery's state and the send result. */
function itemFor(input: IDataObject, r: NotifyResult): IDataObject {
	const d = r.delivery;
	const json: IDataObject = {
		...input,
		deliveryId: d.id,
		orderId: d.orderId,
		sku: d.sku,
		quantity: d.quantity,
		status: d.status,
		keys: keyStrings(r.keys),
		keyIds: r.keys.map((k) => k.id),
		keysMasked: r.keys.some((k) => k.key === undefined),
		buyer: (input.buyer as IDataObject | undefined) ?? (d.buyer as unknown as IDataObject),
		notify: { ...r.notify } as unknown as IDataObject,
	};
	if (r.message) (json.notify as IDataObject).message = r.message;
	return json;
}
