/**
 * nodes/shared/params.ts and nodes/shared/webhookFields.ts against n8n's own expression engine
 * (n8n-core WorkflowExecute + n8n-workflow Expression, in process): for every parameter value and
 * every item, what our nodes read without the engine equals what `getNodeParameter` /
 * `evaluateExpression` give for the same node, item and parameters.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodeType } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { properties as shopWebhookProperties, webhookDescription, webhookFields } from '../../nodes/ShopWebhook/description';
import { itemCollection, itemParam, itemPathValue } from '../../nodes/shared/params';
import { WEBHOOK_RESOLVERS } from '../../nodes/shared/webhookFields';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';

const PARAMS: Record<string, string> = {
	path: '={{ $json.orderId }}',
	tight: '={{$json.buyer.email}}',
	deep: '={{ $json.a.b.c }}',
	num: '={{ $json.quantity }}',
	bool: '={{ $json.flag }}',
	missing: '={{ $json.nothing }}',
	nested: '={{ $json.buyer.nothing.deeper }}',
	obj: '={{ $json.buyer }}',
	arr: '={{ $json.list }}',
	len: '={{ $json.list.length }}',
	strLen: '={{ $json.orderId.length }}',
	proto: '={{ $json.constructor }}',
	computed: '={{ $json.price * $json.quantity }}',
	bracket: '={{ $json["orderId"] }}',
	mixed: '=Order {{ $json.orderId }}',
	plain: 'literal text',
	nullValue: '={{ $json.none }}',
};

const ITEMS: IDataObject[] = [
	{ orderId: '12345678901234567890', buyer: { email: 'a@example.com' }, a: { b: { c: 'deep' } }, quantity: 2, flag: true, list: [1, 2], price: 1.5, none: null },
	{ orderId: 'TB-订单-🙂', buyer: { email: '' }, a: { b: { c: 0 } }, quantity: 0, flag: false, list: [], price: 0, none: null },
	{ orderId: ' 007 ', buyer: 'not an object', a: { b: null }, quantity: '3', flag: 'yes', price: null },
	{ orderId: 42, a: [], quantity: -1.5 },
	{},
];

const probe: INodeType = {
	description: {
		displayName: 'Probe',
		name: 'probe',
		group: ['transform'],
		version: 1,
		description: 'reads parameters both ways',
		defaults: { name: 'Probe' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			...Object.keys(PARAMS).map((name): INodeProperties => ({ displayName: name, name, type: 'string', default: '' })),
			{ displayName: 'Details', name: 'details', type: 'collection', default: {}, options: [
				{ displayName: 'Email', name: 'email', type: 'string', default: '' },
				{ displayName: 'Amount', name: 'amount', type: 'string', default: '' },
				{ displayName: 'Note', name: 'note', type: 'string', default: '' },
			] },
			{ displayName: 'With Default', name: 'withDefault', type: 'string', default: '={{ $json.orderId }}' },
		],
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const out: INodeExecutionData[] = [];
		const names = [...Object.keys(PARAMS), 'withDefault'];
		const settle = (f: () => unknown) => {
			try {
				return { value: f() };
			} catch (e) {
				return { error: (e as Error).message };
			}
		};
		this.getInputData().forEach((_, i) => {
			const ours: IDataObject = {};
			const n8n: IDataObject = {};
			for (const name of names) {
				ours[name] = settle(() => itemParam(this, name, i, 'FALLBACK')) as IDataObject;
				n8n[name] = settle(() => this.getNodeParameter(name, i, 'FALLBACK')) as IDataObject;
			}
			ours.details = settle(() => itemCollection(this, 'details', i)) as IDataObject;
			n8n.details = settle(() => this.getNodeParameter('details', i, {})) as IDataObject;
			out.push({ json: { ours, n8n }, pairedItem: { item: i } });
		});
		return [out];
	},
};

describe('item parameters without the expression engine (nodes/shared/params.ts)', () => {
	it('reads exactly what getNodeParameter gives, for every parameter shape and item', async () => {
		const { node, start, data } = workflowBuilders();
		const result = await runWorkflow(
			{
				nodes: [start(), data(ITEMS), node('Probe', 'test.probe', { ...PARAMS, details: { email: '={{ $json.buyer.email }}', amount: '={{ $json.price * 2 }}' } })],
				connections: chain('Start', 'Data', 'Probe'),
			},
			{ nodeTypes: { 'test.probe': probe } },
		);
		expect(result.status).toBe('success');
		const rows = result.outputs.Probe[0].map((i) => i.json as { ours: IDataObject; n8n: IDataObject });
		expect(rows).toHaveLength(ITEMS.length);
		for (const row of rows) expect(row.ours).toEqual(row.n8n);
		// The fast path really was taken where it applies (and the values are the item's own).
		expect(rows[0].ours.path).toEqual({ value: '12345678901234567890' });
		expect(rows[0].ours.withDefault).toEqual({ value: '12345678901234567890' });
		expect(rows[1].ours.num).toEqual({ value: 0 });
	});

	it('takes the item path only for plain $json paths ending on a string, number or boolean', () => {
		const item = { a: { b: 'x', n: 0, f: false, o: {}, z: null }, s: 'str' };
		expect(itemPathValue('={{ $json.a.b }}', item)).toBe('x');
		expect(itemPathValue('={{$json.a.n}}', item)).toBe(0);
		expect(itemPathValue('={{ $json.a.f }}', item)).toBe(false);
		for (const expr of ['={{ $json.a.o }}', '={{ $json.a.z }}', '={{ $json.a.missing }}', '={{ $json.s.length }}', '={{ $json.constructor }}', '={{ $json.a.__proto__ }}', '={{ $json["a"] }}', '={{ $json.a.b + 1 }}', '=x {{ $json.a.b }}', '{{ $json.a.b }}', 5]) {
			expect(itemPathValue(expr, item)).toBeUndefined();
		}
		expect(itemPathValue('={{ $json.a.b }}', undefined)).toBeUndefined();
	});
});

describe('Shop Webhook description fields without the expression engine (nodes/shared/webhookFields.ts)', () => {
	const fieldNames = Object.keys(webhookFields) as Array<keyof typeof webhookFields>;
	const evaluator: INodeType = {
		description: {
			displayName: 'Evaluator',
			name: 'evaluator',
			group: ['transform'],
			version: 1,
			description: 'evaluates the Shop Webhook templates with its parameters',
			defaults: { name: 'Evaluator' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			properties: shopWebhookProperties,
		},
		async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
			// evaluateExpression adds the leading '=' itself.
			const parameters = this.getNode().parameters as IDataObject;
			const json: IDataObject = {};
			for (const f of fieldNames) {
				json[f] = { template: this.evaluateExpression(webhookFields[f].template.slice(1), 0) as IDataObject[string], native: webhookFields[f].resolve(parameters) as IDataObject[string] };
			}
			return [[{ json, pairedItem: { item: 0 } }]];
		},
	};

	it('declares every template with its resolver under n8n\'s registry symbol', () => {
		const resolvers = (webhookDescription as unknown as Record<symbol, Record<string, { template: string }>>)[WEBHOOK_RESOLVERS];
		for (const f of fieldNames) {
			expect((webhookDescription as unknown as Record<string, unknown>)[f]).toBe(webhookFields[f].template);
			expect(resolvers[f].template).toBe(webhookFields[f].template);
		}
		expect(WEBHOOK_RESOLVERS).toBe(Symbol.for('n8n.webhookDescriptionResolvers'));
	});

	it.each([
		{},
		{ path: 'auto-delivery/order-paid', responseMode: 'responseNode' },
		{ path: 'x', responseMode: 'onReceived' },
		{ path: 'y', responseMode: 'lastNode' },
		{ path: 'y', responseMode: 'lastNode', responseData: 'allEntries' },
		{ path: 'y', responseMode: 'lastNode', responseData: '' },
	])('each resolver gives what its template gives with parameters %j', async (parameters) => {
		const { node, start } = workflowBuilders();
		const result = await runWorkflow(
			{ nodes: [start(), node('Evaluator', 'test.evaluator', parameters)], connections: chain('Start', 'Evaluator') },
			{ nodeTypes: { 'test.evaluator': evaluator } },
		);
		expect(result.status).toBe('success');
		const json = result.outputs.Evaluator[0][0].json as Record<string, { template: unknown; native: unknown }>;
		for (const f of fieldNames) expect(json[f].native).toEqual(json[f].template);
	});
});
