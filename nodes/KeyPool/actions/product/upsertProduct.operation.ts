import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { API_METHODS, DEFAULT_API_RETRIES, DEFAULT_API_TIMEOUT_MS, MAX_API_RETRIES, parseApiConfig } from '../../../core/delivery';
import type { Emit, StoreSetup } from '../../../shared/runner';

const api = { show: { operation: ['upsertProduct'], kind: ['api'] } };
const methodOptions = API_METHODS.map((m) => ({ name: m, value: m }));

/** Shown with the SKU (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Product Name',
		name: 'name',
		type: 'string',
		default: '',
		description: 'Empty keeps the current name (new products use the SKU)',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Low-Stock Threshold',
		name: 'lowStockThreshold',
		type: 'number',
		typeOptions: { minValue: -1 },
		default: -1,
		description: 'Alert when available keys fall to this number. -1 keeps the current value (Stock Alert then uses its own default).',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Fixed Content',
		name: 'fixedContentMode',
		type: 'options',
		options: [
			{ name: 'Keep', value: 'keep', description: 'Leave fixed content as it is' },
			{ name: 'Set', value: 'set', description: 'Every buyer receives the same content (e.g. a download link) instead of a pool key' },
			{ name: 'Clear', value: 'clear', description: 'Deliver keys from the pool again' },
		],
		default: 'keep',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Content',
		name: 'fixedContent',
		type: 'string',
		typeOptions: { rows: 3, password: true },
		default: '',
		description: 'Stored encrypted, like keys',
		displayOptions: { show: { operation: ['upsertProduct'], fixedContentMode: ['set'] } },
	},
	{
		displayName: 'Content Source',
		name: 'kind',
		type: 'options',
		options: [
			{ name: 'Keep', value: 'keep', description: 'Leave the content source as it is (new products use the key pool)' },
			{ name: 'Key Pool or Fixed Content', value: 'keys', description: 'Deliver imported keys, or the fixed content when one is set' },
			{ name: 'External API', value: 'api', description: "Claim Key calls your endpoint for each order line and delivers what it returns (API接口发货)" },
		],
		default: 'keep',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'API URL',
		name: 'apiUrl',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://api.example.com/codes',
		description: 'Your endpoint that issues the content. Variables like {orderId} are URL-encoded. Stored encrypted.',
		displayOptions: api,
	},
	{
		displayName: 'API Method',
		name: 'apiMethod',
		type: 'options',
		options: methodOptions,
		default: 'POST',
		displayOptions: api,
	},
	{
		displayName: 'API Headers',
		name: 'apiHeaders',
		type: 'json',
		default: '{}',
		description: 'A JSON object, e.g. {"Authorization": "Bearer …"}. Stored encrypted. Idempotency-Key is added for you: &lt;shop&gt;:&lt;orderId&gt;:&lt;sku&gt;.',
		displayOptions: api,
	},
	{
		displayName: 'API Body',
		name: 'apiBody',
		type: 'json',
		default: '{"orderId": "{orderId}", "quantity": {quantity}}',
		description: 'JSON body template with {orderId}, {quantity}, {productName}, {buyerName}, {date} (not sent with GET)',
		displayOptions: { show: { operation: ['upsertProduct'], kind: ['api'], apiMethod: ['POST', 'PUT'] } },
	},
	{
		displayName: 'Content Path',
		name: 'apiContentPath',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'data.codes',
		description: 'Where the content is in the JSON answer, e.g. data.codes or data.items[0].code: a text or a list of texts',
		displayOptions: api,
	},
	{
		displayName: 'API Timeout (Ms)',
		name: 'apiTimeoutMs',
		type: 'number',
		typeOptions: { minValue: 100, maxValue: 120000, numberPrecision: 0 },
		default: DEFAULT_API_TIMEOUT_MS,
		description: 'Per attempt',
		displayOptions: api,
	},
	{
		displayName: 'API Retries',
		name: 'apiRetries',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: MAX_API_RETRIES, numberPrecision: 0 },
		default: DEFAULT_API_RETRIES,
		description: 'Extra attempts on 5xx answers, timeouts and dropped connections, with the same Idempotency-Key (never on 4xx)',
		displayOptions: api,
	},
	{
		displayName: 'Revoke Call on Refund',
		name: 'apiRevoke',
		type: 'collection',
		placeholder: 'Add Revoke Field',
		default: {},
		description: 'Optional: Revoke on Refund calls this after revoking the delivery in the key store (Idempotency-Key &lt;shop&gt;:&lt;orderId&gt;:&lt;sku&gt;:revoke)',
		displayOptions: api,
		options: [
			{ displayName: 'Body', name: 'body', type: 'json', default: '{"orderId": "{orderId}", "codes": "{deliveryContent}"}', description: 'JSON body template; {deliveryContent} is the delivered content' },
			{ displayName: 'Headers', name: 'headers', type: 'json', default: '{}', description: 'A JSON object. Stored encrypted.' },
			{ displayName: 'Method', name: 'method', type: 'options', options: methodOptions, default: 'POST' },
			{ displayName: 'URL', name: 'url', type: 'string', default: '', placeholder: 'https://api.example.com/codes/revoke' },
		],
	},
	{
		displayName: 'Buyer-Facing Settings',
		name: 'settings',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		description: 'What the delivery page, the delay notice and the follow-up show for this product. Only the settings added here change; an empty value clears one.',
		displayOptions: { show: { operation: ['upsertProduct'] } },
		options: [
			{
				displayName: 'After-Sale Note',
				name: 'afterSaleNote',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description: 'What the buyer should do if something is wrong (delivery page, {afterSaleNote} / {售后说明})',
			},
			{
				displayName: 'Delay Notice',
				name: 'delayNotice',
				type: 'boolean',
				default: false,
				description: 'Whether to send the buyer one "we are processing your order" notice when a line of this product cannot be delivered at once',
			},
			{
				displayName: 'Expected Within',
				name: 'expectedWithin',
				type: 'string',
				default: '',
				placeholder: '24 hours / 24 小时',
				description: 'What the delay notice promises ({expectedWithin} / {预计时间})',
			},
			{
				displayName: 'Follow-Up After (Hours)',
				name: 'followUpAfterHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Send one follow-up this many hours after the delivery was sent. 0: no follow-up.',
			},
			{
				displayName: 'Recommended Products',
				name: 'recommended',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description: 'One per line, at most 10 ({recommended} / {推荐商品})',
			},
			{
				displayName: 'Review Page URL',
				name: 'reviewUrl',
				type: 'string',
				default: '',
				placeholder: 'https://shop.example.com/review',
				description: "The shop's review page for the follow-up ({reviewUrl} / {评价链接})",
			},
			{
				displayName: 'Usage Guide',
				name: 'usageGuide',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				description: 'How to use the content: shown on the delivery page and in templates as {usageGuide} / {使用说明}',
			},
		],
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const mode = this.getNodeParameter('fixedContentMode', i) as string;
	const threshold = this.getNodeParameter('lowStockThreshold', i) as number;
	const settings = { ...(this.getNodeParameter('settings', i, {}) as Record<string, unknown>) };
	if (settings.followUpAfterHours === 0) settings.followUpAfterHours = null;
	const kind = this.getNodeParameter('kind', i, 'keep') as string;
	// Checked before anything is stored (a ValidationError names the field); stored sealed.
	const method = this.getNodeParameter('apiMethod', i, 'POST') as string;
	const apiConfig =
		kind === 'api'
			? parseApiConfig({
					url: this.getNodeParameter('apiUrl', i),
					method,
					headers: this.getNodeParameter('apiHeaders', i, '{}'),
					body: method === 'GET' ? '' : this.getNodeParameter('apiBody', i, ''),
					contentPath: this.getNodeParameter('apiContentPath', i),
					timeoutMs: this.getNodeParameter('apiTimeoutMs', i, DEFAULT_API_TIMEOUT_MS),
					retries: this.getNodeParameter('apiRetries', i, DEFAULT_API_RETRIES),
					revoke: this.getNodeParameter('apiRevoke', i, {}) as Record<string, unknown>,
				})
			: undefined;
	const product = await store.upsertProduct({
		sku: this.getNodeParameter('sku', i) as string,
		name: (this.getNodeParameter('name', i) as string) || null,
		lowStockThreshold: threshold < 0 ? undefined : threshold,
		fixedContent: mode === 'set' ? (this.getNodeParameter('fixedContent', i) as string) : mode === 'clear' ? null : undefined,
		settings: Object.keys(settings).length ? settings : undefined,
		kind: kind === 'keys' || kind === 'api' ? kind : undefined,
		apiConfig: apiConfig as unknown as Record<string, unknown> | undefined,
		actor,
	});
	emit(0, { ...product });
}
