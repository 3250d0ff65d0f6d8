/**
 * Key Pool (Get Delivery) and Notify Buyer (Resend) as tools of an AI agent, in n8n's own engine:
 * the tool variants n8n makes of them (test/helpers/aiTool.ts), connected to an agent node that does
 * what n8n's AI Agent does with tools — asks the engine for its `ai_tool` connections
 * (`getInputConnectionData`, which wraps each with n8n-core's `createNodeAsTool`), reads each tool's
 * name, description and argument schema (from the `$fromAI()` parameters), and calls it with the
 * arguments a model would produce. Real SQLite store, real SMTP server.
 *
 * Whatever *Include Keys in Output* says, a tool's answer (what goes to the model) never holds a
 * plaintext key; the buyer's resent mail does.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions, INodeExecutionData, INodeType } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { closeAllTransports } from '../../nodes/core/outbound';
import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { KeyPool } from '../../nodes/KeyPool/KeyPool.node';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { asAiTool } from '../helpers/aiTool';
import { dropStore, storeConfig } from '../helpers/db';
import { chain, runWorkflow, workflowBuilders } from '../helpers/n8nEngine';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';

interface ToolLike {
	name: string;
	description: string;
	schema: { shape: Record<string, unknown> };
	invoke(args: Record<string, unknown>): Promise<string>;
}

/** Calls every connected tool with the arguments in its `calls` parameter (tool name → arguments). */
const agent: INodeType = {
	description: {
		displayName: 'Test Agent',
		name: 'testAgent',
		group: ['transform'],
		version: 1,
		description: 'calls its tools like an AI agent',
		defaults: { name: 'Agent' },
		inputs: [NodeConnectionTypes.Main, { type: NodeConnectionTypes.AiTool, displayName: 'Tools', required: true }],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Calls', name: 'calls', type: 'json', default: '{}' }],
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const calls = JSON.parse(this.getNodeParameter('calls', 0) as string) as Record<string, Record<string, unknown>>;
		const tools = (await this.getInputConnectionData(NodeConnectionTypes.AiTool, 0)) as ToolLike[];
		const out: INodeExecutionData[] = [];
		for (const tool of tools) {
			const args = calls[tool.name];
			let answer: string | null = null;
			// A failing tool is an answer too: n8n's agent hands the error text to the model.
			if (args) answer = await tool.invoke(args).catch((e: Error) => `Error: ${e.message}`);
			out.push({ json: { name: tool.name, description: tool.description, arguments: Object.keys(tool.schema.shape).sort(), answer }, pairedItem: { item: 0 } });
		}
		return [out];
	},
};

const POOL_TOOL = 'n8n-nodes-auto-delivery.keyPoolTool';
const NOTIFY_TOOL = 'n8n-nodes-auto-delivery.notifyBuyerTool';
const nodeTypes: Record<string, INodeType> = { 'test.agent': agent, [POOL_TOOL]: asAiTool(new KeyPool()), [NOTIFY_TOOL]: asAiTool(new NotifyBuyer()) };

const cfg = storeConfig('sqlite');
const credData = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
const SKU = 'AI-STEAM-50';
const KEYS = Array.from({ length: 6 }, (_, i) => `AIK-${i}-${Math.random().toString(36).slice(2, 12).toUpperCase()}`);
const leaked = (text: string) => KEYS.filter((k) => text.includes(k));

let smtp: SmtpPeer;
let store: KeyStore;

beforeAll(async () => {
	smtp = await startSmtpServer();
	store = await getStore(storeConfigFromCredentials(credData as ICredentialDataDecryptedObject));
	await store.importKeys({ sku: SKU, keys: KEYS, productName: 'Steam 50' });
	for (const [orderId, email] of [['AI-1', 'ann@example.com'], ['AI-2', 'bob@example.com']]) {
		const r = await store.claim({ orderId, shop: 'ai-shop', sku: SKU, quantity: 2, buyer: { email } });
		if (!r.delivered) throw new Error(r.reason);
	}
});

afterAll(async () => {
	closeAllTransports();
	await smtp?.close();
	await closeAllStores();
	await dropStore(cfg);
});

const { node, start } = workflowBuilders();
const fromAI = (key: string, description: string) => `={{ $fromAI('${key}', '${description}', 'string') }}`;


describe('our nodes as AI agent tools (in n8n\'s engine)', () => {
	const lookUp = (includeKeys: boolean) =>
		node('Look Up Order', POOL_TOOL, {
			resource: 'delivery',
			operation: 'getDelivery',
			orderId: fromAI('orderId', 'The order ID the buyer gives'),
			deliveryShop: 'ai-shop',
			includeKeys,
		});
	const resend = () =>
		node('Resend Keys', NOTIFY_TOOL, {
			operation: 'resend',
			findBy: 'order',
			orderId: fromAI('orderId', 'The order ID the buyer gives'),
			shop: 'ai-shop',
			includeKeys: true,
		});

	async function agentRun(tools: ReturnType<typeof node>[], calls: Record<string, Record<string, unknown>>) {
		const connections = chain('Start', 'Agent') as Record<string, unknown>;
		for (const t of tools) connections[t.name] = { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] };
		const result = await runWorkflow(
			{ nodes: [start(), node('Agent', 'test.agent', { calls: JSON.stringify(calls) }), ...tools], connections: connections as never },
			{
				nodeTypes,
				credentials: [
					{ type: 'autoDeliveryKeyStore', data: credData },
					{ type: 'autoDeliverySmtp', data: { host: smtp.host, port: smtp.port, security: 'none', user: '', password: '', from: 'Shop <shop@example.com>' } },
				],
			},
		);
		expect(result.error?.message).toBeUndefined();
		expect(result.status).toBe('success');
		return { answers: result.outputs.Agent[0].map((i) => i.json as IDataObject & { answer: string | null }), raw: JSON.stringify(result.raw) };
	}

	it('tells the model what each tool does and which arguments it takes', async () => {
		const { answers } = await agentRun([lookUp(false), resend()], {});
		answers.sort((a, b) => String(a.name).localeCompare(String(b.name)));
		expect(answers.map((a) => [a.name, a.arguments])).toEqual([
			['Look_Up_Order', ['orderId']],
			['Resend_Keys', ['orderId']],
		]);
		// n8n builds it from the operation's action ("Set Automatically") or takes the node's tool
		// description (usableAsTool.replacements), depending on its version: both name the job.
		expect(answers[0].description).toMatch(/order/);
		expect(answers[1].description).toMatch(/buyer/);
	});

	it('Get Delivery answers status and masked keys, also with Include Keys on', async () => {
		const { answers, raw } = await agentRun([lookUp(true)], { Look_Up_Order: { orderId: 'AI-1' } });
		const answer = JSON.parse(answers[0].answer as string) as Array<Record<string, unknown>>;
		expect(answer).toHaveLength(1);
		expect(answer[0]).toMatchObject({ orderId: 'AI-1', shop: 'ai-shop', sku: SKU, quantity: 2, status: 'claimed' });
		expect(JSON.stringify(answer[0].keys)).toMatch(/…/);
		expect(leaked(answers[0].answer as string)).toEqual([]);
		expect(leaked(raw)).toEqual([]); // nor anywhere in the run data n8n keeps
	});

	it('Resend sends the same keys to the buyer; the model only hears that it was sent', async () => {
		smtp.clear();
		const before = await store.getDeliveries({ orderId: 'AI-2', shop: 'ai-shop', reveal: true });
		const { answers, raw } = await agentRun([resend()], { Resend_Keys: { orderId: 'AI-2' } });
		const answer = JSON.parse(answers[0].answer as string) as Array<Record<string, any>>;
		expect(answer[0].notify).toMatchObject({ sent: true, recipient: 'bob@example.com' });
		expect(leaked(answers[0].answer as string)).toEqual([]);
		expect(leaked(raw)).toEqual([]);
		const mails = await smtp.waitFor(1);
		expect(mails[0].to).toEqual(['bob@example.com']);
		for (const k of before[0].keys) expect(mails[0].text).toContain(k.key as string);
	});

	it('an unknown order is an answer the model can read, and nothing is sent', async () => {
		smtp.clear();
		const { answers } = await agentRun([lookUp(false), resend()], { Look_Up_Order: { orderId: 'NO-SUCH' }, Resend_Keys: { orderId: 'NO-SUCH' } });
		for (const a of answers) expect(a.answer).toMatch(/No delivery for order NO-SUCH of shop ai-shop/);
		expect(smtp.messages).toHaveLength(0);
	});

	it('Export Keys refuses to run as a tool (its file holds every key in plain text)', async () => {
		const { answers } = await agentRun(
			[node('Export', POOL_TOOL, { resource: 'key', operation: 'exportKeys', skuFilter: fromAI('sku', 'The SKU') })],
			{ Export: { sku: SKU } },
		);
		expect(answers[0].answer).toMatch(/not available to an AI agent/);
		expect(leaked(JSON.stringify(answers))).toEqual([]);
	});
});
