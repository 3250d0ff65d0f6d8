import {
	NodeApiError,
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';

import type { KeyStore } from '../core/store';
import { DEFAULT_REFERENCE_FIELD, MAX_RETRIES, ShipError, shipDelivery, shipItem, type ShipInput } from '../core/delivery';
import { SHOP_API_CREDENTIAL, shopTargetFromCredentials, testShopApiCredential } from '../shared/shopApi';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

const DEFAULT_BODY = '{\n  "orderId": "{orderId}",\n  "status": "shipped"\n}';

export class MarkShipped implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Mark Shipped',
		name: 'markShipped',
		icon: { light: 'file:markShipped.svg', dark: 'file:markShipped.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "recordOnly" ? "Record Only" : $parameter["method"] + " " + $parameter["path"]}}',
		description: 'Mark an order shipped on the shop (发货) — only after the buyer was sent the content, never fake shipping (虚假发货)',
		defaults: { name: 'Mark Shipped' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Shipped', 'Not Sent'],
		credentials: [
			{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' },
			{
				name: 'autoDeliveryShopApi',
				required: true,
				testedBy: 'autoDeliveryShopApiTest',
				displayOptions: { show: { mode: ['callApi'] } },
			},
		],
		properties: [
			{
				displayName: 'Find Delivery By',
				name: 'lookup',
				type: 'options',
				options: [
					{ name: 'Delivery ID', value: 'deliveryId', description: 'The deliveryId from Claim Key or Notify Buyer' },
					{ name: 'Order ID and SKU', value: 'order', description: 'The shop order number (and the SKU when the order has several lines)' },
				],
				default: 'deliveryId',
			},
			{
				displayName: 'Delivery ID',
				name: 'deliveryId',
				type: 'string',
				default: '={{ $json.deliveryId }}',
				required: true,
				displayOptions: { show: { lookup: ['deliveryId'] } },
				description: 'The delivery to mark shipped',
			},
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '={{ $json.orderId }}',
				required: true,
				displayOptions: { show: { lookup: ['order'] } },
			},
			{
				displayName: 'Shop',
				name: 'shop',
				type: 'string',
				default: '={{ $json.shop }}',
				displayOptions: { show: { lookup: ['order'] } },
				description: 'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.',
			},
			{
				displayName: 'SKU',
				name: 'sku',
				type: 'string',
				default: '={{ $json.sku }}',
				displayOptions: { show: { lookup: ['order'] } },
				description: 'Product code of the order line; may be empty when the order has a single line',
			},
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				options: [
					{ name: 'Call Shop API', value: 'callApi', description: 'Call the shop (Auto Delivery Shop API credential), then record the shipment' },
					{ name: 'Record Only', value: 'recordOnly', description: 'Record the shipment without calling anything (you shipped it another way)' },
				],
				default: 'callApi',
			},
			{
				displayName: 'Require Sent',
				name: 'requireSent',
				type: 'boolean',
				default: true,
				description:
					'Whether to refuse deliveries the buyer was not sent yet (recorded by Notify Buyer). Marking them shipped would be fake shipping (虚假发货). Off: an explicit override, recorded in the audit log.',
			},
			{
				displayName: 'When Not Sent',
				name: 'whenNotSent',
				type: 'options',
				options: [
					{ name: 'Route to Not Sent Output', value: 'route', description: 'The item goes to the second output with the reason' },
					{ name: 'Stop With Error', value: 'error', description: 'The node fails with a message naming fake shipping' },
				],
				default: 'route',
				displayOptions: { show: { requireSent: [true] } },
				description: 'What to do with a delivery that was not sent yet. Refunded (revoked) deliveries always go to the Not Sent output.',
			},
			{
				displayName: 'Method',
				name: 'method',
				type: 'options',
				options: [
					{ name: 'DELETE', value: 'DELETE' },
					{ name: 'GET', value: 'GET' },
					{ name: 'PATCH', value: 'PATCH' },
					{ name: 'POST', value: 'POST' },
					{ name: 'PUT', value: 'PUT' },
				],
				default: 'POST',
				displayOptions: { show: { mode: ['callApi'] } },
			},
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: '/orders/{orderId}/ship',
				required: true,
				displayOptions: { show: { mode: ['callApi'] } },
				description:
					'Relative to the Base URL of the credential. Variables are URL-encoded: {orderId} {订单号}, {productName} {商品名称}, {buyerName} {买家昵称}, {quantity} {数量}, {date} {购买日期}.',
			},
			{
				displayName: 'JSON Body',
				name: 'body',
				type: 'json',
				default: DEFAULT_BODY,
				displayOptions: { show: { mode: ['callApi'], method: ['POST', 'PUT', 'PATCH', 'DELETE'] } },
				description:
					'Template of the JSON sent to the shop; empty sends no body. Variables inside quotes are escaped ("Order {orderId}"); a variable on its own becomes a JSON value ({quantity} a number, others a string). {deliveryContent} / {发货内容} (the keys, one per line) is decrypted only for this request, for shops that deliver the content through their own API.',
			},
			{
				displayName: 'Shop Reference Field',
				name: 'referenceField',
				type: 'string',
				default: DEFAULT_REFERENCE_FIELD,
				displayOptions: { show: { mode: ['callApi'] } },
				description: 'Dotted path into the JSON answer (e.g. reference or data.shipment.id) whose value is stored as the shop reference; empty: none',
			},
			{
				displayName: 'Shop Reference',
				name: 'shopReference',
				type: 'string',
				default: '',
				displayOptions: { show: { mode: ['recordOnly'] } },
				description: 'Optional reference stored with the shipment, e.g. a tracking number',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				displayOptions: { show: { mode: ['callApi'] } },
				options: [
					{
						displayName: 'Max Retries',
						name: 'retries',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: MAX_RETRIES, numberPrecision: 0 },
						default: 3,
						description: 'Extra attempts on 5xx answers, timeouts and dropped connections (never on 4xx)',
					},
					{
						displayName: 'Retry Delay (Ms)',
						name: 'backoffMs',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 60000, numberPrecision: 0 },
						default: 500,
						description: 'Wait before the first retry; doubles for each further retry',
					},
					{
						displayName: 'Time Zone',
						name: 'timeZone',
						type: 'string',
						default: 'Asia/Shanghai',
						description: 'IANA time zone of {date} {购买日期}',
					},
					{
						displayName: 'Timeout (Ms)',
						name: 'timeoutMs',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 300000, numberPrecision: 0 },
						default: 10000,
						description: 'How long to wait for each attempt',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			autoDeliveryKeyStoreTest: testKeyStoreCredential,
			autoDeliveryShopApiTest: testShopApiCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const shipped: INodeExecutionData[] = [];
		const notSent: INodeExecutionData[] = [];
		const failed = (i: number, message: string, extra: IDataObject = {}): INodeExecutionData => ({
			json: { ...items[i].json, ship: { shipped: false, reason: 'error', error: message, ...extra }, error: message },
			pairedItem: { item: i },
		});

		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			return [[], items.map((_, i) => failed(i, (error as Error).message))];
		}
		const actor = actorOf(this);
		let shopCredentials: ICredentialDataDecryptedObject | undefined;

		for (let i = 0; i < items.length; i++) {
			try {
				const lookup = this.getNodeParameter('lookup', i) as string;
				const delivery =
					lookup === 'order'
						? await store.findDelivery({ orderId: this.getNodeParameter('orderId', i) as string, shop: this.getNodeParameter('shop', i, '') as string, sku: (this.getNodeParameter('sku', i, '') as string) || null })
						: await store.findDelivery({ deliveryId: this.getNodeParameter('deliveryId', i) as string });
				const mode = this.getNodeParameter('mode', i) as string;
				const requireSent = this.getNodeParameter('requireSent', i) as boolean;
				const input: ShipInput = { deliveryId: delivery.id, requireSent, actor };
				if (mode === 'recordOnly') {
					input.recordOnly = true;
					input.shopReference = (this.getNodeParameter('shopReference', i, '') as string) || null;
				} else {
					shopCredentials ??= await this.getCredentials<ICredentialDataDecryptedObject>(SHOP_API_CREDENTIAL);
					const options = this.getNodeParameter('options', i, {}) as IDataObject;
					const method = this.getNodeParameter('method', i) as string;
					let body: unknown = method === 'GET' ? '' : this.getNodeParameter('body', i, '');
					if (body !== null && typeof body === 'object') body = JSON.stringify(body);
					input.shop = shopTargetFromCredentials(shopCredentials);
					input.request = {
						method,
						path: this.getNodeParameter('path', i) as string,
						body: body as string,
						referenceField: this.getNodeParameter('referenceField', i, DEFAULT_REFERENCE_FIELD) as string,
						timeoutMs: options.timeoutMs as number | undefined,
						retries: options.retries as number | undefined,
						backoffMs: options.backoffMs as number | undefined,
					};
					input.timeZone = (options.timeZone as string | undefined) || undefined;
				}

				const outcome = await shipDelivery(store, input);
				const json = { ...items[i].json, ...shipItem(outcome) } as IDataObject;
				if (outcome.outcome === 'shipped') {
					shipped.push({ json, pairedItem: { item: i } });
					continue;
				}
				if (outcome.outcome === 'not_sent' && requireSent && this.getNodeParameter('whenNotSent', i, 'route') === 'error') {
					throw new NodeOperationError(this.getNode(), outcome.message, {
						itemIndex: i,
						description: 'Nothing was called and nothing was changed. Connect Notify Buyer before Mark Shipped, or route not-sent deliveries to the Not Sent output.',
					});
				}
				notSent.push({ json, pairedItem: { item: i } });
			} catch (error) {
				let nodeError: NodeOperationError | NodeApiError;
				if (error instanceof ShipError && error.code === 'ship_failed') {
					nodeError = new NodeApiError(this.getNode(), { message: error.message, httpCode: error.status === null ? null : String(error.status) } as JsonObject, {
						message: error.message,
						description:
							error.status !== null && error.status < 500
								? 'The shop refused the request (not retried). The failure is recorded on the delivery (ship_failed); it stays "sent" and can be shipped again once the request is fixed.'
								: 'The failure is recorded on the delivery (ship_failed); it stays "sent" and can be shipped again later.',
						httpCode: error.status === null ? undefined : String(error.status),
						itemIndex: i,
					});
				} else {
					nodeError = toNodeError(this.getNode(), error, i);
				}
				if (this.continueOnFail()) {
					const extra: IDataObject = {};
					if (error instanceof ShipError) {
						if (error.status !== null) extra.httpStatus = error.status;
						extra.attempts = error.attempts;
					}
					notSent.push(failed(i, nodeError.message, extra));
					continue;
				}
				throw nodeError;
			}
		}
		return [shipped, notSent];
	}
}
