import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { KeyStore } from '../core/store';
import {
	type BlockKind,
	type RateRule,
	type RiskAction,
	type RiskRules,
	addToBlocklist,
	approveHeld,
	evaluateRisk,
	listBlocklist,
	removeFromBlocklist,
} from '../core/risk';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

const evaluate = { show: { operation: ['evaluate'] } };
const evaluateOrApprove = { show: { operation: ['evaluate', 'approveHeld'] } };
const actionOptions = [
	{ name: 'Reject', value: 'reject', description: 'Send the order to the Reject output' },
	{ name: 'Review', value: 'review', description: 'Send the order to the Review output for a manual look' },
];

/** Max / window / action for one rate rule, shown only while its maximum is not 0. */
function rateRule(key: 'Buyer' | 'Email' | 'Ip', label: string, what: string): INodeProperties[] {
	const max = `maxOrdersPer${key}`;
	return [
		{
			displayName: `Max Orders per ${label}`,
			name: max,
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 0 },
			default: 0,
			description: `Orders allowed from the same ${what} within the window, this one included. 0 turns the rule off.`,
			displayOptions: evaluate,
		},
		{
			displayName: `${label} Window (Minutes)`,
			name: `windowPer${key}`,
			type: 'number',
			typeOptions: { minValue: 1, numberPrecision: 0 },
			default: 1440,
			description: `How far back orders from the same ${what} are counted (1440 = one day)`,
			displayOptions: { show: { operation: ['evaluate'] }, hide: { [max]: [0] } },
		},
		{
			displayName: `Too Many Orders per ${label}`,
			name: `actionPer${key}`,
			type: 'options',
			options: actionOptions,
			default: 'reject',
			description: 'What to do with an order over the limit',
			displayOptions: { show: { operation: ['evaluate'] }, hide: { [max]: [0] } },
		},
	];
}

export class RiskCheck implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Risk Check',
		name: 'riskCheck',
		icon: { light: 'file:riskCheck.svg', dark: 'file:riskCheck.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Screen orders before delivery: blocklists, order limits per buyer / email / IP, maximum quantity, amount review (风控)',
		defaults: { name: 'Risk Check' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter["operation"] === "evaluate" || $parameter["operation"] === undefined ? [{ type: "main", displayName: "Pass" }, { type: "main", displayName: "Review" }, { type: "main", displayName: "Reject" }] : [{ type: "main" }] }}`,
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Add to Blocklist', value: 'addToBlocklist', description: 'Block a buyer ID, email or IP', action: 'Add to blocklist' },
					{
						name: 'Approve Held Order',
						value: 'approveHeld',
						description: 'Release an order line that was held for Review (or Rejected) so it can be delivered; outputs the line as recorded, ready for Claim Key',
						action: 'Approve a held order',
					},
					{ name: 'Evaluate', value: 'evaluate', description: 'Check an order and route it to Pass, Review or Reject', action: 'Evaluate an order' },
					{ name: 'List Blocklist', value: 'listBlocklist', description: 'List blocked buyer IDs, emails and IPs', action: 'List blocklist' },
					{ name: 'Remove From Blocklist', value: 'removeFromBlocklist', description: 'Unblock a buyer ID, email or IP', action: 'Remove from blocklist' },
				],
				default: 'evaluate',
			},
			// ---------------------------------------------------------------- evaluate: the order
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '={{ $json.orderId }}',
				required: true,
				description: 'Shop order number. Evaluating the same order and line again returns the recorded decision and counts nothing.',
				displayOptions: evaluateOrApprove,
			},
			{
				displayName: 'Order Line (SKU)',
				name: 'line',
				type: 'string',
				default: '={{ $json.sku }}',
				description: 'The line of the order (Shop Webhook gives one item per line). Other lines of the same order are not counted as further orders. Empty: the whole order.',
				displayOptions: evaluateOrApprove,
			},
			{
				displayName: 'Note',
				name: 'note',
				type: 'string',
				default: '',
				description: 'Why you approve it (kept in the audit log)',
				displayOptions: { show: { operation: ['approveHeld'] } },
			},
			{
				displayName: 'Buyer ID',
				name: 'buyerId',
				type: 'string',
				default: '={{ $json.buyer.id }}',
				displayOptions: evaluate,
			},
			{
				displayName: 'Buyer Email',
				name: 'buyerEmail',
				type: 'string',
				placeholder: 'name@email.com',
				default: '={{ $json.buyer.email }}',
				displayOptions: evaluate,
			},
			{
				displayName: 'Buyer IP',
				name: 'buyerIp',
				type: 'string',
				default: '={{ $json.buyer.ip }}',
				displayOptions: evaluate,
			},
			{
				displayName: 'Buyer Name',
				name: 'buyerName',
				type: 'string',
				default: '={{ $json.buyer.name }}',
				description: 'Kept with the decision, so an order held for review can be delivered later (Approve Held Order)',
				displayOptions: evaluate,
			},
			{
				displayName: 'Shop',
				name: 'shop',
				type: 'string',
				default: '={{ $json.shop }}',
				description: 'The shop the order belongs to: an order is Shop + Order ID (two shops may use the same order ID). Empty: the default shop.',
				displayOptions: evaluateOrApprove,
			},
			{
				displayName: 'Quantity',
				name: 'quantity',
				type: 'string',
				default: '={{ $json.quantity }}',
				description: 'Quantity of the order line (for Max Quantity per Order)',
				displayOptions: evaluate,
			},
			{
				displayName: 'Amount',
				name: 'amount',
				type: 'string',
				default: '={{ $json.amount }}',
				description: 'Order amount (for the review threshold)',
				displayOptions: evaluate,
			},
			// ---------------------------------------------------------------- evaluate: the rules
			{
				displayName: 'Check Blocklist',
				name: 'checkBlocklist',
				type: 'boolean',
				default: true,
				description: 'Whether to look up the buyer ID, email and IP on the blocklist',
				displayOptions: evaluate,
			},
			{
				displayName: 'On Blocklist Match',
				name: 'blocklistAction',
				type: 'options',
				options: actionOptions,
				default: 'reject',
				displayOptions: { show: { operation: ['evaluate'], checkBlocklist: [true] } },
			},
			...rateRule('Buyer', 'Buyer', 'buyer ID'),
			...rateRule('Email', 'Email', 'email address'),
			...rateRule('Ip', 'IP', 'IP address'),
			{
				displayName: 'Max Quantity per Order',
				name: 'maxQuantity',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 0 },
				default: 0,
				description: 'A larger quantity breaches. 0 turns the rule off.',
				displayOptions: evaluate,
			},
			{
				displayName: 'Quantity Above Maximum',
				name: 'maxQuantityAction',
				type: 'options',
				options: actionOptions,
				default: 'reject',
				displayOptions: { show: { operation: ['evaluate'] }, hide: { maxQuantity: [0] } },
			},
			{
				displayName: 'Review Amount From',
				name: 'amountThreshold',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 2 },
				default: 0,
				description: 'An amount at or above this breaches. 0 turns the rule off.',
				displayOptions: evaluate,
			},
			{
				displayName: 'Amount At or Above',
				name: 'amountAction',
				type: 'options',
				options: actionOptions,
				default: 'review',
				displayOptions: { show: { operation: ['evaluate'] }, hide: { amountThreshold: [0] } },
			},
			// ---------------------------------------------------------------- blocklist
			{
				displayName: 'Type',
				name: 'kind',
				type: 'options',
				options: [
					{ name: 'Buyer ID', value: 'buyer' },
					{ name: 'Email', value: 'email' },
					{ name: 'IP', value: 'ip' },
				],
				default: 'buyer',
				displayOptions: { show: { operation: ['addToBlocklist', 'removeFromBlocklist'] } },
			},
			{
				displayName: 'Value',
				name: 'value',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'u123 / name@email.com / 203.0.113.7',
				description: 'The buyer ID, email or IP (emails and IPs are compared case-insensitively)',
				displayOptions: { show: { operation: ['addToBlocklist', 'removeFromBlocklist'] } },
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				description: 'Why (shown in the risk reasons of matching orders)',
				displayOptions: { show: { operation: ['addToBlocklist'] } },
			},
			{
				displayName: 'Type',
				name: 'kindFilter',
				type: 'options',
				options: [
					{ name: 'All', value: 'all' },
					{ name: 'Buyer ID', value: 'buyer' },
					{ name: 'Email', value: 'email' },
					{ name: 'IP', value: 'ip' },
				],
				default: 'all',
				displayOptions: { show: { operation: ['listBlocklist'] } },
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Max number of results to return',
				displayOptions: { show: { operation: ['listBlocklist'] } },
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		const isEvaluate = operation === 'evaluate';
		const pass: INodeExecutionData[] = [];
		const review: INodeExecutionData[] = [];
		const reject: INodeExecutionData[] = [];
		const out: INodeExecutionData[] = [];
		// A failed evaluation never passes: with continueOnFail it goes to Review for a manual look.
		const failed = (i: number, message: string): INodeExecutionData =>
			isEvaluate
				? { json: { ...items[i].json, risk: { decision: 'review', reasons: [{ rule: 'error', action: 'review', message }], replayed: false, error: message } }, pairedItem: { item: i } }
				: { json: { error: message, operation }, pairedItem: { item: i } };
		const result = () => (isEvaluate ? [pass, review, reject] : [out]);

		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			const message = (error as Error).message;
			items.forEach((_, i) => (isEvaluate ? review : out).push(failed(i, message)));
			return result();
		}
		const actor = actorOf(this);

		for (let i = 0; i < items.length; i++) {
			try {
				if (isEvaluate) {
					const rules = readRules(this, i);
					const r = await evaluateRisk(
						store,
						{
							orderId: this.getNodeParameter('orderId', i) as string,
							line: this.getNodeParameter('line', i, '') as string,
							buyerId: text(this.getNodeParameter('buyerId', i, '')),
							email: text(this.getNodeParameter('buyerEmail', i, '')),
							ip: text(this.getNodeParameter('buyerIp', i, '')),
							buyerName: text(this.getNodeParameter('buyerName', i, '')),
							shop: text(this.getNodeParameter('shop', i, '')),
							quantity: text(this.getNodeParameter('quantity', i, '')),
							amount: text(this.getNodeParameter('amount', i, '')),
							actor,
						},
						rules,
					);
					const item: INodeExecutionData = {
						json: { ...items[i].json, risk: { decision: r.decision, reasons: r.reasons, replayed: r.replayed, ...(r.approved ? { approved: true, heldAs: r.heldAs } : {}) } as unknown as IDataObject },
						pairedItem: { item: i },
					};
					(r.decision === 'pass' ? pass : r.decision === 'review' ? review : reject).push(item);
				} else if (operation === 'approveHeld') {
					const a = await approveHeld(store, {
						orderId: this.getNodeParameter('orderId', i) as string,
						shop: this.getNodeParameter('shop', i, '') as string,
						line: this.getNodeParameter('line', i, '') as string,
						note: this.getNodeParameter('note', i, '') as string,
						actor,
					});
					out.push({ json: a as unknown as IDataObject, pairedItem: { item: i } });
				} else if (operation === 'addToBlocklist') {
					const e = await addToBlocklist(store, {
						kind: this.getNodeParameter('kind', i) as BlockKind,
						value: this.getNodeParameter('value', i) as string,
						reason: this.getNodeParameter('reason', i, '') as string,
						actor,
					});
					out.push({ json: e as unknown as IDataObject, pairedItem: { item: i } });
				} else if (operation === 'removeFromBlocklist') {
					const r = await removeFromBlocklist(store, {
						kind: this.getNodeParameter('kind', i) as BlockKind,
						value: this.getNodeParameter('value', i) as string,
						actor,
					});
					out.push({ json: r as unknown as IDataObject, pairedItem: { item: i } });
				} else if (operation === 'listBlocklist') {
					const kind = this.getNodeParameter('kindFilter', i, 'all') as string;
					const entries = await listBlocklist(store, { kind: kind === 'all' ? null : (kind as BlockKind), limit: this.getNodeParameter('limit', i, 50) as number });
					for (const e of entries) out.push({ json: e as unknown as IDataObject, pairedItem: { item: i } });
				} else {
					throw new Error(`Unknown operation "${operation}"`);
				}
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (this.continueOnFail()) {
					(isEvaluate ? review : out).push(failed(i, nodeError.message));
					continue;
				}
				throw nodeError;
			}
		}
		return result();
	}
}

/** Expression results can be numbers, null or undefined: pass text (or null) on to the core. */
function text(v: unknown): string | null {
	if (v === undefined || v === null) return null;
	return typeof v === 'string' ? v : String(v);
}

/** A limit of 0 or empty turns its rule off. */
function limit(v: unknown): number | null {
	if (v === undefined || v === null || v === '') return null;
	const n = Number(v);
	return n === 0 ? null : n;
}

function readRules(ctx: IExecuteFunctions, i: number): RiskRules {
	const rate = (key: 'Buyer' | 'Email' | 'Ip'): RateRule | null => {
		const max = limit(ctx.getNodeParameter(`maxOrdersPer${key}`, i, 0));
		if (max === null) return null;
		return {
			max,
			windowMinutes: ctx.getNodeParameter(`windowPer${key}`, i, 1440) as number,
			action: ctx.getNodeParameter(`actionPer${key}`, i, 'reject') as RiskAction,
		};
	};
	const maxQuantity = limit(ctx.getNodeParameter('maxQuantity', i, 0));
	const threshold = limit(ctx.getNodeParameter('amountThreshold', i, 0));
	return {
		blocklist: ctx.getNodeParameter('checkBlocklist', i, true) ? { action: ctx.getNodeParameter('blocklistAction', i, 'reject') as RiskAction } : null,
		perBuyer: rate('Buyer'),
		perEmail: rate('Email'),
		perIp: rate('Ip'),
		maxQuantity: maxQuantity === null ? null : { max: maxQuantity, action: ctx.getNodeParameter('maxQuantityAction', i, 'reject') as RiskAction },
		amount: threshold === null ? null : { threshold, action: ctx.getNodeParameter('amountAction', i, 'review') as RiskAction },
	};
}
