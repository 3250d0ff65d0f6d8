import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { waitingInfo } from '../../core/delivery';
import { evaluateRisk, settleWaiting } from '../../core/risk';
import { itemParam } from '../../shared/params';
import type { Emit, StoreSetup } from '../../shared/runner';
import { readRules } from '../helpers/rules';
import { shop } from './common.descriptions';

const evaluate = { show: { operation: ['evaluate'] } };
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

/** Shown with the order ID and line (common.descriptions.ts) above them; the shop is shown for Approve Held too. */
export const description: INodeProperties[] = [
	// ---------------------------------------------------------------- the order
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
	shop,
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
	{
		displayName: 'Paid At',
		name: 'paidAt',
		type: 'string',
		default: '={{ $json.paidAt }}',
		description: 'When the buyer paid (ISO 8601 or epoch milliseconds): kept with a line held for review (Track Waiting Lines). Empty: now.',
		displayOptions: { show: { operation: ['evaluate'], waitingLines: [true] } },
	},
	{
		displayName: 'Track Waiting Lines',
		name: 'waitingLines',
		type: 'boolean',
		default: true,
		description:
			'Whether a line sent to Review is recorded as waiting (reason review), so the buyer can be sent a delay notice (Notify Buyer → Send Delay Notice), and a Rejected line that was waiting is cancelled. A line held for review is delivered by Approve Held Order, never by new stock.',
		displayOptions: evaluate,
	},
	// ---------------------------------------------------------------- the rules
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
];

/** A failed evaluation never passes: with continueOnFail it goes to Review (output 1) for a manual look. */
export function failed(json: IDataObject, message: string): { output: number; json: IDataObject } {
	return { output: 1, json: { ...json, risk: { decision: 'review', reasons: [{ rule: 'error', action: 'review', message }], replayed: false, error: message } } };
}

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const rules = readRules(this, i);
	const r = await evaluateRisk(
		store,
		{
			orderId: itemParam(this, 'orderId', i) as string,
			line: itemParam(this, 'line', i, '') as string,
			buyerId: text(itemParam(this, 'buyerId', i, '')),
			email: text(itemParam(this, 'buyerEmail', i, '')),
			ip: text(itemParam(this, 'buyerIp', i, '')),
			buyerName: text(itemParam(this, 'buyerName', i, '')),
			shop: text(itemParam(this, 'shop', i, '')),
			quantity: text(itemParam(this, 'quantity', i, '')),
			amount: text(itemParam(this, 'amount', i, '')),
			actor,
		},
		rules,
	);
	const risk = { decision: r.decision, reasons: r.reasons, replayed: r.replayed, ...(r.approved ? { approved: true, heldAs: r.heldAs } : {}) } as unknown as IDataObject;
	let waiting: IDataObject | undefined;
	if (r.decision !== 'pass' && (this.getNodeParameter('waitingLines', i, true) as boolean)) {
		const paidAt = itemParam(this, 'paidAt', i, '');
		const effect = await settleWaiting(store, r, {
			quantity: text(itemParam(this, 'quantity', i, '')),
			amount: text(itemParam(this, 'amount', i, '')),
			buyer: {
				id: text(itemParam(this, 'buyerId', i, '')),
				name: text(itemParam(this, 'buyerName', i, '')),
				email: text(itemParam(this, 'buyerEmail', i, '')),
				ip: text(itemParam(this, 'buyerIp', i, '')),
			},
			paidAt: typeof paidAt === 'number' ? paidAt : text(paidAt),
			actor,
		});
		if (effect.line) waiting = waitingInfo(effect.line) as unknown as IDataObject;
	}
	// outputs Pass, Review, Reject
	emit(r.decision === 'pass' ? 0 : r.decision === 'review' ? 1 : 2, { ...this.getInputData()[i].json, risk, ...(waiting ? { waiting } : {}) });
}

/** Expression results can be numbers, null or undefined: pass text (or null) on to the core. */
function text(v: unknown): string | null {
	if (v === undefined || v === null) return null;
	return typeof v === 'string' ? v : String(v);
}
