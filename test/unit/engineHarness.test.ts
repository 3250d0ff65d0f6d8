import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeType,
	IConnections,
} from 'n8n-workflow';

import { chain, connect, runWorkflow } from '../helpers/n8nEngine';

// ---------------------------------------------------------------------------------------------
// Node types under test (defined here, not mocks of n8n: they run inside n8n's WorkflowExecute)
// ---------------------------------------------------------------------------------------------

/** Two outputs: items with json[field] === true go to 'Delivered', the rest to 'Not Delivered'. */
class RouteByFlag implements INodeType {
	description: INodeType['description'] = {
		displayName: 'Route By Flag',
		name: 'routeByFlag',
		group: ['transform'],
		version: 1,
		description: 'Routes items by a boolean field',
		defaults: { name: 'Route By Flag' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Delivered', 'Not Delivered'],
		properties: [{ displayName: 'Field', name: 'field', type: 'string', default: 'delivered' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const yes: INodeExecutionData[] = [];
		const no: INodeExecutionData[] = [];
		items.forEach((item, i) => {
			const field = this.getNodeParameter('field', i) as string;
			(item.json[field] === true ? yes : no).push({ json: item.json, pairedItem: { item: i } });
		});
		return [yes, no];
	}
}

/** Throws NodeOperationError for items with json.fail === true; honours continueOnFail like n8n nodes do. */
class FailOnFlag implements INodeType {
	description: INodeType['description'] = {
		displayName: 'Fail On Flag',
		name: 'failOnFlag',
		group: ['transform'],
		version: 1,
		description: 'Throws for flagged items',
		defaults: { name: 'Fail On Flag' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				if (items[i].json.fail === true) {
					throw new NodeOperationError(this.getNode(), `Item ${items[i].json.id} is bad`, {
						itemIndex: i,
						description: 'flagged with fail=true',
					});
				}
				out.push({ json: { ...items[i].json, ok: true }, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				throw error;
			}
		}
		return [out];
	}
}

/** Reads credential 'testCred' and outputs its apiKey (plus a parameter with an expression). */
class UsesCredential implements INodeType {
	description: INodeType['description'] = {
		displayName: 'Uses Credential',
		name: 'usesCredential',
		group: ['transform'],
		version: 1,
		description: 'Reads a credential',
		defaults: { name: 'Uses Credential' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'testCred', required: true }],
		properties: [{ displayName: 'Label', name: 'label', type: 'string', default: '' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const creds = await this.getCredentials<{ apiKey: string; region: string }>('testCred');
		return [
			this.getInputData().map((item, i) => ({
				json: {
					apiKey: creds.apiKey,
					region: creds.region,
					label: this.getNodeParameter('label', i) as string,
				},
				pairedItem: { item: i },
			})),
		];
	}
}

const nodeTypes = {
	'test.routeByFlag': new RouteByFlag(),
	'test.failOnFlag': new FailOnFlag(),
	'test.usesCredential': new UsesCredential(),
};

// ---------------------------------------------------------------------------------------------
// Workflow builders
// ---------------------------------------------------------------------------------------------

let nodeId = 0;
function node(name: string, type: string, parameters: INode['parameters'] = {}, extra: Partial<INode> = {}): INode {
	return {
		id: `node-${++nodeId}`,
		name,
		type,
		typeVersion: 1,
		position: [nodeId * 200, 0],
		parameters,
		...extra,
	};
}

const trigger = () => node('Start', 'n8n-nodes-base.manualTrigger');
const data = (items: unknown[]) => node('Data', 'test.setItems', { items: JSON.stringify(items) });
const jsons = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json);

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/** A Set Items node with `count` items whose second one is flagged to fail. */
const flagged = (count: number) => data(Array.from({ length: count }, (_, k) => ({ id: k + 1, fail: k === 1 })));

describe('n8n engine harness', () => {
	it('runs trigger → setItems and preserves pairedItem as n8n produces it', async () => {
		const result = await runWorkflow(
			{ nodes: [trigger(), data([{ a: 1 }, { a: 2 }])], connections: chain('Start', 'Data') },
			{ nodeTypes: {} },
		);

		expect(result.status).toBe('success');
		expect(result.error).toBeUndefined();
		expect(result.executionOrder).toEqual(['Start', 'Data']);
		expect(result.outputs.Start).toEqual([[{ json: {}, pairedItem: { item: 0 } }]]);
		expect(result.outputs.Data).toEqual([
			[
				{ json: { a: 1 }, pairedItem: { item: 0 } },
				{ json: { a: 2 }, pairedItem: { item: 0 } },
			],
		]);
		expect(result.raw.finished).toBe(true);
		expect(result.runData.Data[0].executionStatus).toBe('success');
	});

	it('exposes both outputs of a two-output node and routes downstream by output index', async () => {
		let connections: IConnections = chain('Start', 'Data', 'Route');
		connections = connect('Route', 0, 'OnDelivered', connections);
		connections = connect('Route', 1, 'OnNotDelivered', connections);

		const result = await runWorkflow(
			{
				nodes: [
					trigger(),
					data([
						{ id: 'k1', delivered: true },
						{ id: 'k2', delivered: false },
						{ id: 'k3', delivered: true },
					]),
					node('Route', 'test.routeByFlag', { field: '={{ "deli" + "vered" }}' }),
					node('OnDelivered', 'test.failOnFlag'),
					node('OnNotDelivered', 'test.failOnFlag'),
				],
				connections,
			},
			{ nodeTypes },
		);

		expect(result.status).toBe('success');
		expect(result.outputs.Route).toHaveLength(2);
		const [delivered, notDelivered] = result.outputs.Route;
		expect(jsons(delivered)).toEqual([
			{ id: 'k1', delivered: true },
			{ id: 'k3', delivered: true },
		]);
		expect(jsons(notDelivered)).toEqual([{ id: 'k2', delivered: false }]);
		// pairedItem points back at the input item index, untouched by the harness.
		expect(delivered.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
		expect(notDelivered.map((i) => i.pairedItem)).toEqual([{ item: 1 }]);

		expect(jsons(result.outputs.OnDelivered[0]).map((j) => j.id)).toEqual(['k1', 'k3']);
		expect(jsons(result.outputs.OnNotDelivered[0]).map((j) => j.id)).toEqual(['k2']);
		// source info recorded by n8n for the downstream node: came from Route output 1
		expect(result.runData.OnNotDelivered[0].source).toEqual([{ previousNode: 'Route', previousNodeOutput: 1 }]);
	});

	it('surfaces a NodeOperationError as the workflow error and stops the run', async () => {
		const result = await runWorkflow(
			{
				nodes: [
					trigger(),
					flagged(2),
					node('Fail', 'test.failOnFlag'),
					node('After', 'test.usesCredential'),
				],
				connections: chain('Start', 'Data', 'Fail', 'After'),
			},
			{ nodeTypes, credentials: [{ type: 'testCred', data: { apiKey: 'x' } }] },
		);

		expect(result.status).toBe('error');
		expect(result.error).toBeInstanceOf(Error);
		expect(result.error?.message).toBe('Item 2 is bad');
		expect(result.error).toMatchObject({
			name: 'NodeOperationError',
			description: 'flagged with fail=true',
			node: expect.objectContaining({ name: 'Fail' }),
		});
		expect(result.raw.data.resultData.lastNodeExecuted).toBe('Fail');
		expect(result.runData.Fail[0].executionStatus).toBe('error');
		expect(result.runData.Fail[0].error?.message).toBe('Item 2 is bad');
		expect(result.outputs.Fail).toEqual([]);
		expect(result.runData.After).toBeUndefined();
	});

	it.each([
		['continueOnFail: true', { continueOnFail: true }],
		["onError: 'continueRegularOutput'", { onError: 'continueRegularOutput' as const }],
	])('lets error items flow on with %s', async (_label, settings) => {
		const result = await runWorkflow(
			{
				nodes: [
					trigger(),
					flagged(3),
					node('Fail', 'test.failOnFlag', {}, settings),
					node('Route', 'test.routeByFlag', { field: 'ok' }),
				],
				connections: chain('Start', 'Data', 'Fail', 'Route'),
			},
			{ nodeTypes },
		);

		expect(result.status).toBe('success');
		expect(result.error).toBeUndefined();
		expect(result.outputs.Fail[0]).toEqual([
			{ json: { id: 1, fail: false, ok: true }, pairedItem: { item: 0 } },
			{ json: { error: 'Item 2 is bad' }, pairedItem: { item: 1 } },
			{ json: { id: 3, fail: false, ok: true }, pairedItem: { item: 2 } },
		]);
		expect(jsons(result.outputs.Route[0]).map((j) => j.id)).toEqual([1, 3]);
		expect(jsons(result.outputs.Route[1])).toEqual([{ error: 'Item 2 is bad' }]);
	});

	it("sends error items to the error output with onError: 'continueErrorOutput'", async () => {
		const result = await runWorkflow(
			{
				nodes: [
					trigger(),
					flagged(2),
					node('Fail', 'test.failOnFlag', {}, { onError: 'continueErrorOutput' }),
				],
				connections: chain('Start', 'Data', 'Fail'),
			},
			{ nodeTypes },
		);

		expect(result.status).toBe('success');
		expect(result.outputs.Fail).toHaveLength(2);
		expect(jsons(result.outputs.Fail[0])).toEqual([{ id: 1, fail: false, ok: true }]);
		// n8n merges the paired input item's json into error-output items
		expect(jsons(result.outputs.Fail[1])).toEqual([{ id: 2, fail: true, error: 'Item 2 is bad' }]);
	});

	it('serves credentials through the credentials helper on this.getCredentials()', async () => {
		const workflow = {
			nodes: [
				trigger(),
				data([{ who: 'alice' }, { who: 'bob' }]),
				node(
					'Cred',
					'test.usesCredential',
					{ label: '=for {{ $json.who }}' },
					{ credentials: { testCred: { id: 'cred-2', name: 'Second' } } },
				),
			],
			connections: chain('Start', 'Data', 'Cred'),
		};
		const credentials = [
			{ id: 'cred-1', name: 'First', type: 'testCred', data: { apiKey: 'key-one', region: 'eu' } },
			{ id: 'cred-2', name: 'Second', type: 'testCred', data: { apiKey: 'key-two', region: 'us' } },
			{ type: 'otherCred', data: { apiKey: 'nope' } },
		];

		const result = await runWorkflow(workflow, { nodeTypes, credentials });

		expect(result.status).toBe('success');
		expect(result.outputs.Cred[0]).toEqual([
			{ json: { apiKey: 'key-two', region: 'us', label: 'for alice' }, pairedItem: { item: 0 } },
			{ json: { apiKey: 'key-two', region: 'us', label: 'for bob' }, pairedItem: { item: 1 } },
		]);
		// caller's workflow JSON and credential objects are not mutated
		expect(workflow.nodes[2].parameters).toEqual({ label: '=for {{ $json.who }}' });
		expect(credentials[1].data).toEqual({ apiKey: 'key-two', region: 'us' });
	});

	it('auto-assigns a lone credential of the declared type when the node JSON has no reference', async () => {
		const nodes = [trigger(), data([{}]), node('Cred', 'test.usesCredential')];
		const connections = chain('Start', 'Data', 'Cred');

		const ok = await runWorkflow(
			{ nodes, connections },
			{ nodeTypes, credentials: [{ type: 'testCred', data: { apiKey: 'solo', region: 'ap' } }] },
		);
		expect(ok.status).toBe('success');
		expect(jsons(ok.outputs.Cred[0])).toEqual([{ apiKey: 'solo', region: 'ap', label: '' }]);

		const strict = await runWorkflow(
			{ nodes, connections },
			{
				nodeTypes,
				credentials: [{ type: 'testCred', data: { apiKey: 'solo' } }],
				autoAssignCredentials: false,
			},
		);
		expect(strict.status).toBe('error');
		expect(strict.error?.message).toBe('Node does not have any credentials set');
	});

	it('fails the node when no credential of the requested type was provided', async () => {
		const result = await runWorkflow(
			{
				nodes: [
					trigger(),
					data([{}]),
					node('Cred', 'test.usesCredential', {}, { credentials: { testCred: { id: '9', name: 'Missing' } } }),
				],
				connections: chain('Start', 'Data', 'Cred'),
			},
			{ nodeTypes, credentials: [] },
		);
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Credential with ID "9" does not exist for type "testCred".');
	});

	it('honours an explicit startNode and rejects unknown node types', async () => {
		const result = await runWorkflow(
			{ nodes: [data([{ x: 1 }])], connections: {} },
			{ nodeTypes: {}, startNode: 'Data' },
		);
		expect(result.status).toBe('success');
		expect(jsons(result.outputs.Data[0])).toEqual([{ x: 1 }]);

		await expect(
			runWorkflow({ nodes: [trigger(), node('X', 'nope.unknown')], connections: chain('Start', 'X') }, { nodeTypes: {} }),
		).rejects.toThrow('Unknown node type "nope.unknown"');
	});
});
