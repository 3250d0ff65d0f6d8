/**
 * Shop Webhook driven the way n8n drives it, by real HTTP requests.
 *
 * A local HTTP server plays n8n's webhook server: it routes POST /webhook/<path> to the node,
 * prepares the request like n8n (n8n-core's parseIncomingMessage, a `readRawBody()` that
 * gunzips/inflates and sets `req.rawBody`, and — for a typeVersion 1 start node — n8n's
 * `parseBody`, which answers 422 itself for broken JSON declared as application/json), builds
 * n8n-core's own WebhookContext (as n8n's WebhookService.runWebhook does) and calls
 * `nodeType.webhook`. Then it answers like n8n's executeWebhook: nothing when the node answered
 * itself (`noWebhookResponse`), else according to the webhook description's responseMode /
 * responseCode / responseData, evaluated with n8n's expression engine. For "When Last Node
 * Finishes" the emitted items are run through the rest of the workflow in n8n's engine
 * (test/helpers/n8nEngine.ts), starting at the trigger with the trigger's output as n8n does.
 *
 * Variants of the request preparation: 'n8n' (as above), 'lazy' (only `readRawBody()` is
 * defined, nothing read yet) and 'plain' (an untouched Node.js request: the node reads the stream).
 */
import * as http from 'node:http';
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import {
	ICredentialsHelper,
	Workflow,
	WorkflowConfigurationError,
	deepCopy,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type IConnections,
	type IDataObject,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IVersionedNodeType,
	type IWebhookData,
	type IWebhookFunctions,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
	NodeHelpers,
} from 'n8n-workflow';
import type * as N8nCore from 'n8n-core';

import { ClaimKey } from '../../nodes/ClaimKey/ClaimKey.node';
import { closeAllStores, getStore } from '../../nodes/core/store';
import { signPayload } from '../../nodes/core/intake';
import { ShopWebhook } from '../../nodes/ShopWebhook/ShopWebhook.node';
import { dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, chain, manualTriggerNode, runWorkflow, type RunResult } from '../helpers/n8nEngine';

const WEBHOOK = 'n8n-nodes-auto-delivery.shopWebhook';
const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
const RESPOND = 'n8n-nodes-base.respondToWebhook';
const SECRET = 'whsec-int-3b9d0c1f5a7e';

let core: typeof N8nCore;

// ---------------------------------------------------------------------------------------------
// Node types and credentials (what n8n's own loader and credentials helper would provide)

/** Stand-in for n8n-nodes-base.respondToWebhook: only its identity matters to Shop Webhook's check. */
const respondToWebhookStub: INodeType = {
	description: {
		displayName: 'Respond to Webhook', name: 'respondToWebhook', group: ['transform'], version: [1, 1.1, 1.5], description: 'stub',
		defaults: { name: 'Respond to Webhook' }, inputs: ['main'] as never, outputs: ['main'] as never, properties: [],
	},
	async execute() {
		return [this.getInputData()];
	},
};

const shopWebhook = new ShopWebhook();
const types: Record<string, INodeType> = {
	[WEBHOOK]: shopWebhook,
	[CLAIM]: new ClaimKey(),
	[RESPOND]: respondToWebhookStub,
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
};

class NodeTypes implements INodeTypes {
	getByName(type: string): INodeType | IVersionedNodeType {
		const t = types[type];
		if (!t) throw new Error(`unknown node type ${type}`);
		return t;
	}
	getByNameAndVersion(type: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(type), version);
	}
	getKnownTypes(): IDataObject {
		return {};
	}
}

class CredentialsHelper extends ICredentialsHelper {
	constructor(private readonly data: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}
	getParentTypes(): string[] {
		return [];
	}
	async authenticate(_c: ICredentialDataDecryptedObject, _t: string, options: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		return options;
	}
	async preAuthentication(): Promise<undefined> {
		return undefined;
	}
	async getCredentials(details: INodeCredentialsDetails, type: string): Promise<ICredentials> {
		const c = new core.Credentials({ id: details.id, name: details.name }, type);
		c.setData(await this.getDecrypted({} as IWorkflowExecuteAdditionalData, details, type));
		return c;
	}
	async getDecrypted(_a: IWorkflowExecuteAdditionalData, _d: INodeCredentialsDetails, type: string): Promise<ICredentialDataDecryptedObject> {
		if (!this.data[type]) throw new Error(`Credential of type "${type}" does not exist.`);
		return deepCopy(this.data[type]);
	}
	async updateCredentials(): Promise<void> {}
	async updateCredentialsOauthTokenData(): Promise<void> {}
	getCredentialsProperties(): INodeProperties[] {
		return [];
	}
}

// ---------------------------------------------------------------------------------------------
// The n8n-like webhook server

type Flavour = 'n8n' | 'lazy' | 'plain';

interface Call {
	/** The node's webhook function was called (n8n's routing/body parsing may answer before it). */
	nodeCalled: boolean;
	result?: IWebhookResponseData;
	error?: Error;
	/** Items handed to the workflow (the trigger's output), or null when none. */
	emitted: INodeExecutionData[] | null;
	run?: RunResult;
	/** After the node ran: whether req.rawBody was set (by n8n's reader), i.e. the node did not read the stream itself. */
	rawBodySet?: boolean;
	done: Promise<void>;
}

interface HarnessOptions {
	parameters?: Record<string, unknown>;
	/** Extra nodes after the trigger (connected in a chain from "Shop Webhook"). */
	downstream?: INode[];
	connections?: IConnections;
	/** Credential data by type; default the shop credential with SECRET. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** Attach credential references to the node (default true). */
	attachCredentials?: boolean;
	flavour?: Flavour;
	/** Run the workflow in n8n's engine after the trigger emitted (needed for lastNode). */
	engine?: boolean;
}

interface Harness {
	url: string;
	path: string;
	calls: Call[];
	workflow: Workflow;
	close(): Promise<void>;
}

/** n8n-workflow declares contentType, encoding, rawBody, readRawBody and _body on http.IncomingMessage. */
type N8nRequest = http.IncomingMessage & { body?: unknown };

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		stream.on('data', (c: Buffer) => chunks.push(c));
		stream.on('end', () => resolve(Buffer.concat(chunks)));
		stream.on('error', reject);
	});
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
	if (res.headersSent) return;
	const text = body === undefined ? '' : JSON.stringify(body);
	res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
	res.end(text);
}

let engineQueue: Promise<unknown> = Promise.resolve();

/** Runs the workflow in n8n's engine starting at the trigger with `workflowData` as its output (like n8n's prepareExecutionData). */
function runFromTrigger(nodes: INode[], connections: IConnections, workflowData: INodeExecutionData[][], credentials: Record<string, ICredentialDataDecryptedObject>): Promise<RunResult> {
	const job = engineQueue.then(async () => {
		const proto = core.WorkflowExecute.prototype as unknown as { run: (...args: unknown[]) => unknown };
		const original = proto.run;
		proto.run = function (this: unknown, ...args: unknown[]) {
			const [workflow, startNode, destination, pinData] = args as [unknown, { name: string }, unknown, unknown];
			return original.call(this, workflow, startNode, destination, pinData, { name: startNode.name, data: { data: { main: workflowData } } });
		};
		try {
			return await runWorkflow(
				{ nodes, connections },
				{ nodeTypes: types, startNode: 'Shop Webhook', credentials: Object.entries(credentials).map(([type, data]) => ({ type, data })) },
			);
		} finally {
			proto.run = original;
		}
	});
	engineQueue = job.catch(() => undefined);
	return job;
}

async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
	const flavour = opts.flavour ?? 'n8n';
	const credentials = opts.credentials ?? { autoDeliveryShopApi: { signingSecret: SECRET, authType: 'none' } };
	const webhookNode: INode = {
		id: 'w1',
		name: 'Shop Webhook',
		type: WEBHOOK,
		typeVersion: 1,
		position: [0, 0],
		webhookId: '7b1c4e2a-0000-4000-8000-000000000001',
		parameters: (opts.parameters ?? {}) as INode['parameters'],
		...(opts.attachCredentials === false ? {} : { credentials: { autoDeliveryShopApi: { id: 'shop-1', name: 'Shop' } } }),
	};
	const nodes = [webhookNode, ...(opts.downstream ?? [])];
	const connections = opts.connections ?? (opts.downstream?.length ? chain(...nodes.map((n) => n.name)) : {});
	const nodeTypes = new NodeTypes();
	const workflow = new Workflow({ id: 'wf-shop', name: 'Shop', nodes: deepCopy(nodes), connections, active: true, nodeTypes, settings: { executionOrder: 'v1' }, staticData: {} });
	const node = workflow.getNode('Shop Webhook') as INode;
	const description = shopWebhook.description.webhooks![0];
	const evaluate = (property: string, fallback?: unknown) =>
		workflow.expression.getSimpleParameterValue(node, description[property] as string, 'internal', {}, undefined, fallback as never);
	const path = String(evaluate('path'));
	const httpMethod = String(evaluate('httpMethod', 'GET'));
	const registered = `/webhook/${NodeHelpers.getNodeWebhookPath('wf-shop', node, path, evaluate('isFullPath', false) === true)}`;
	const calls: Call[] = [];

	const handle = async (req: N8nRequest, res: http.ServerResponse, call: Call) => {
		// n8n's routing: only the registered method and path reach the node
		if (req.url !== registered || req.method !== httpMethod) {
			sendJson(res, 404, { code: 404, message: `The requested webhook "${req.method} ${req.url}" is not registered.` });
			return;
		}
		// n8n's rawBodyReader + parseBody (webhook-helpers parseRequestBody for a typeVersion 1 node)
		if (flavour !== 'plain') {
			core.parseIncomingMessage(req);
			req.readRawBody = async () => {
				if (Buffer.isBuffer(req.rawBody)) return;
				const enc = req.headers['content-encoding'];
				const { createGunzip, createInflate } = await import('node:zlib');
				const stream = enc === 'gzip' ? req.pipe(createGunzip()) : enc === 'deflate' ? req.pipe(createInflate()) : req;
				req.rawBody = await readAll(stream);
				req._body = true;
			};
		}
		if (flavour === 'n8n' && !req.contentType?.startsWith('multipart/')) {
			await req.readRawBody();
			if (req.rawBody?.length) {
				try {
					if (req.contentType === 'application/json') req.body = JSON.parse(req.rawBody.toString(req.encoding));
					else if (req.contentType === 'text/plain') req.body = req.rawBody.toString(req.encoding);
				} catch (e) {
					sendJson(res, 422, { code: 422, message: 'Failed to parse request body', hint: (e as Error).message });
					return;
				}
			}
		}

		const additionalData = {
			credentialsHelper: new CredentialsHelper(credentials),
			httpRequest: req,
			httpResponse: res,
			executionId: undefined,
			restApiUrl: 'http://localhost:5678/rest',
			instanceBaseUrl: 'http://localhost:5678/',
			webhookBaseUrl: 'http://localhost:5678/webhook',
			webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
			webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
			formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
			variables: {},
			currentNodeExecutionIndex: 0,
		} as unknown as IWorkflowExecuteAdditionalData;
		const webhookData: IWebhookData = {
			httpMethod: 'POST', node: node.name, path, webhookDescription: description, workflowId: 'wf-shop', workflowExecuteAdditionalData: additionalData,
		};
		const context = new core.WebhookContext(workflow, node, additionalData, 'webhook', webhookData, [], null);
		call.nodeCalled = true;
		let result: IWebhookResponseData;
		try {
			result = await (shopWebhook.webhook as (this: IWebhookFunctions) => Promise<IWebhookResponseData>).call(context);
		} catch (e) {
			call.error = e as Error;
			// n8n: "Workflow Webhook Error: Workflow could not be started!", or the message of a configuration error
			const message = e instanceof WorkflowConfigurationError ? (e as Error).message : 'Workflow Webhook Error: Workflow could not be started!';
			sendJson(res, 500, { code: 0, message });
			return;
		}
		call.result = result;
		call.rawBodySet = Buffer.isBuffer(req.rawBody);
		if (result.noWebhookResponse === true) return; // the node answered itself
		if (result.workflowData === undefined) {
			sendJson(res, Number(evaluate('responseCode', 200)), result.webhookResponse ?? { message: 'Webhook call received' });
			return;
		}
		call.emitted = result.workflowData[0] ?? [];

		const responseMode = String(evaluate('responseMode', 'onReceived'));
		const responseCode = Number(evaluate('responseCode', 200));
		const responseData = workflow.expression.getComplexParameterValue(node, description.responseData, 'internal', {}, undefined, 'firstEntryJson');
		if (responseMode === 'onReceived') {
			const body = responseData === 'noData' ? undefined : responseData ? responseData : (result.webhookResponse ?? { message: 'Workflow was started' });
			sendJson(res, responseCode, body);
		}
		if (opts.engine) {
			call.run = await runFromTrigger(nodes, connections, result.workflowData, credentials);
		}
		if (responseMode === 'lastNode') {
			if (!call.run) throw new Error('lastNode needs engine: true');
			const last = call.run.raw.data.resultData.lastNodeExecuted as string;
			const items = call.run.outputs[last]?.[0] ?? [];
			const body = responseData === 'noData' ? undefined : responseData === 'allEntries' ? items.map((i) => i.json) : (items[0]?.json ?? {});
			sendJson(res, responseCode, body);
		}
		if (responseMode === 'responseNode') sendJson(res, 200, { answeredBy: 'Respond to Webhook' });
	};

	const server = http.createServer((req, res) => {
		let finish!: () => void;
		const call: Call = { nodeCalled: false, emitted: null, done: new Promise<void>((r) => (finish = r)) };
		calls.push(call);
		handle(req as N8nRequest, res, call)
			.catch((e: Error) => {
				call.error = e;
				sendJson(res, 500, { message: `harness: ${e.message}` });
			})
			.finally(() => finish());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	return {
		url: `http://127.0.0.1:${port}${registered}`,
		path,
		calls,
		workflow,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

// ---------------------------------------------------------------------------------------------
// The shop: a real HTTP client

interface Answer {
	status: number;
	headers: http.IncomingHttpHeaders;
	text: string;
	body: unknown;
}

function post(url: string, body: string | Buffer, headers: Record<string, string | undefined> = {}, method = 'POST'): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
		const req = http.request(url, { method, headers: clean }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let parsed: unknown = text;
				try {
					parsed = text === '' ? undefined : JSON.parse(text);
				} catch {
					// not JSON
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
			});
		});
		req.on('error', reject);
		if (method !== 'GET' && method !== 'HEAD') req.end(body);
		else req.end();
	});
}

/** Signs like the shop does (DESIGN §7) and posts. */
function sendSigned(url: string, raw: string | Buffer, over: { ts?: number | string; secret?: string; headers?: Record<string, string | undefined>; bodyOnWire?: Buffer } = {}) {
	const ts = String(over.ts ?? Math.floor(Date.now() / 1000));
	return post(url, over.bodyOnWire ?? raw, {
		'Content-Type': 'application/json',
		'X-Timestamp': ts,
		'X-Signature': signPayload(over.secret ?? SECRET, ts, raw),
		...over.headers,
	});
}

const ORDER = {
	event: 'order.paid',
	orderId: 'T20261123001',
	shop: 'helloworld',
	buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
	items: [
		{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 },
		{ sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60 },
	],
	amount: 160,
	currency: 'CNY',
	paidAt: '2026-11-23T18:00:00+08:00',
};
const RAW = JSON.stringify(ORDER);

const LINE_ITEMS = [
	{
		event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld',
		buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
		amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
		sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50, line: 0, lines: 2,
	},
	{
		event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld',
		buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
		amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
		sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60, line: 1, lines: 2,
	},
];

async function settled(h: Harness): Promise<Call> {
	const call = h.calls[h.calls.length - 1];
	await call.done;
	return call;
}

/** The request was answered without starting the workflow. */
function expectNothingEmitted(call: Call) {
	expect(call.emitted).toBeNull();
	expect(call.result?.workflowData).toBeUndefined();
	expect(call.run).toBeUndefined();
}

function expectNoSecret(a: Answer, raw: string | Buffer, ts?: string) {
	expect(a.text).not.toContain(SECRET);
	if (ts !== undefined) {
		const expected = createHmac('sha256', SECRET).update(`${ts}.`).update(raw).digest('hex');
		expect(a.text).not.toContain(expected);
	}
}

beforeAll(async () => {
	// Boot n8n-core the way the engine helper does (temp user folder, silent logger), then use its classes.
	const boot = await runWorkflow(
		{ nodes: [{ id: 's', name: 'Start', type: MANUAL_TRIGGER_NODE_TYPE, typeVersion: 1, position: [0, 0], parameters: {} }], connections: {} },
		{ nodeTypes: {} },
	);
	expect(boot.status).toBe('success');
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	core = require('n8n-core') as typeof N8nCore;
});

afterAll(async () => {
	await closeAllStores();
});

// ---------------------------------------------------------------------------------------------

describe('Shop Webhook in an n8n-like webhook server (defaults: order.paid, signature on, respond immediately)', () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness();
	});
	afterAll(() => h.close());

	it('registers POST /webhook/auto-delivery/order-paid with responseMode onReceived, 202, no responseData', () => {
		expect(h.path).toBe('auto-delivery/order-paid');
		expect(h.url.endsWith('/webhook/auto-delivery/order-paid')).toBe(true);
		const node = h.workflow.getNode('Shop Webhook') as INode;
		const d = shopWebhook.description.webhooks![0];
		const simple = (p: string) => h.workflow.expression.getSimpleParameterValue(node, d[p] as string, 'internal', {});
		expect(simple('httpMethod')).toBe('POST');
		expect(simple('responseMode')).toBe('onReceived');
		expect(simple('responseCode')).toBe(202);
		// must not fall back to n8n's default 'firstEntryJson' (that string would become the 202 body)
		expect(h.workflow.expression.getComplexParameterValue(node, d.responseData, 'internal', {}, undefined, 'firstEntryJson')).toBeUndefined();
	});

	it('a valid signed order: 202 {received, orderId} and one canonical item per order line', async () => {
		const ts = String(Math.floor(Date.now() / 1000));
		const a = await sendSigned(h.url, RAW, { ts });
		const call = await settled(h);
		expect(a.status).toBe(202);
		expect(a.headers['content-type']).toMatch(/^application\/json/);
		expect(a.body).toEqual({ received: true, orderId: 'T20261123001' });
		expect(call.emitted!.map((i) => i.json)).toEqual(LINE_ITEMS);
		expect(call.rawBodySet).toBe(true);
		expectNoSecret(a, RAW, ts);
	});

	it('a gzip-compressed signed body (n8n inflates it before the node sees rawBody)', async () => {
		const a = await sendSigned(h.url, RAW, { bodyOnWire: gzipSync(Buffer.from(RAW)), headers: { 'Content-Encoding': 'gzip' } });
		const call = await settled(h);
		expect(a.status).toBe(202);
		expect(call.emitted).toHaveLength(2);
	});

	describe('signature failures → 401 JSON, the workflow is not started, nothing secret in the answer', () => {
		const now = () => Math.floor(Date.now() / 1000);
		const cases: Array<[string, () => { raw: string | Buffer; over: Parameters<typeof sendSigned>[2] }, string]> = [
			['missing signature', () => ({ raw: RAW, over: { headers: { 'X-Signature': undefined } } }), 'missing_signature'],
			['missing timestamp', () => ({ raw: RAW, over: { headers: { 'X-Timestamp': undefined } } }), 'missing_timestamp'],
			['forged (another secret)', () => ({ raw: RAW, over: { secret: 'guessed-secret-123' } }), 'mismatch'],
			['expired (10 minutes old)', () => ({ raw: RAW, over: { ts: now() - 600 } }), 'expired'],
			['from the future (10 minutes ahead)', () => ({ raw: RAW, over: { ts: now() + 600 } }), 'expired'],
			['bad format', () => ({ raw: RAW, over: { headers: { 'X-Signature': 'md5=abc' } } }), 'bad_format'],
			['milliseconds timestamp', () => ({ raw: RAW, over: { ts: Date.now() } }), 'bad_timestamp'],
			['body changed by one byte after signing', () => ({ raw: RAW, over: { bodyOnWire: Buffer.from(RAW.replace('"quantity":2', '"quantity":3')) } }), 'mismatch'],
		];
		it.each(cases)('%s', async (_name, make, reason) => {
			const { raw, over } = make();
			const ts = String(over?.ts ?? now());
			const a = await sendSigned(h.url, raw, { ...over, ts });
			const call = await settled(h);
			expect(a.status).toBe(401);
			expect(a.body).toEqual({ error: expect.any(String), field: expect.stringMatching(/^x-(signature|timestamp)$/), reason });
			expect(call.nodeCalled).toBe(true);
			expect(call.result).toEqual({ noWebhookResponse: true });
			expectNothingEmitted(call);
			expectNoSecret(a, raw, ts);
		});
	});

	describe('bad payloads → 400 naming the field, the workflow is not started', () => {
		const cases: Array<[string, unknown, string]> = [
			['missing orderId', { ...ORDER, orderId: undefined }, 'orderId'],
			['quantity 0', { ...ORDER, items: [{ sku: 'A', quantity: 0 }] }, 'items[0].quantity'],
			['negative quantity', { ...ORDER, items: [{ sku: 'A', quantity: -2 }] }, 'items[0].quantity'],
			['fractional quantity', { ...ORDER, items: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 0.5 }] }, 'items[1].quantity'],
			['quantity a word', { ...ORDER, items: [{ sku: 'A', quantity: 'two' }] }, 'items[0].quantity'],
			['unknown event', { ...ORDER, event: 'order.created' }, 'event'],
			['empty items', { ...ORDER, items: [] }, 'items'],
			['a buyer that is not an object', { ...ORDER, buyer: 'u123' }, 'buyer'],
			['JSON that is not an object', [ORDER], 'body'],
		];
		it.each(cases)('%s', async (_name, body, field) => {
			const raw = JSON.stringify(body);
			const a = await sendSigned(h.url, raw);
			const call = await settled(h);
			expect(a.status).toBe(400);
			expect(a.body).toEqual({ error: expect.stringMatching(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')} `)), field });
			expectNothingEmitted(call);
		});

		it('non-JSON: 415 for a non-JSON content type, 400 for a +json type, 422 from n8n itself for broken application/json', async () => {
			const form = await sendSigned(h.url, 'event=order.paid&orderId=T1', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
			expect(form.status).toBe(415);
			expect(form.body).toEqual({ error: expect.stringMatching(/application\/json/), field: 'content-type' });
			expectNothingEmitted(await settled(h));

			const vendor = await sendSigned(h.url, '{"event": "order.paid",', { headers: { 'Content-Type': 'application/vnd.shop+json' } });
			expect(vendor.status).toBe(400);
			expect(vendor.body).toEqual({ error: 'body is not valid JSON.', field: 'body' });
			expectNothingEmitted(await settled(h));

			// n8n's own body parser rejects it before any node runs
			const broken = await sendSigned(h.url, '{"event": "order.paid",');
			const call = await settled(h);
			expect(broken.status).toBe(422);
			expect(call.nodeCalled).toBe(false);
			expectNothingEmitted(call);
		});

		it('a wrong or missing content type → 415', async () => {
			for (const type of ['text/plain', 'application/xml', undefined]) {
				const a = await sendSigned(h.url, RAW, { headers: { 'Content-Type': type } });
				expect(a.status).toBe(415);
				expect((a.body as { field: string }).field).toBe('content-type');
				expectNothingEmitted(await settled(h));
			}
		});

		it('a huge body → 413', async () => {
			const huge = JSON.stringify({ ...ORDER, note: 'x'.repeat(1_000_000) });
			const a = await sendSigned(h.url, huge);
			const call = await settled(h);
			expect(a.status).toBe(413);
			expect(a.body).toEqual({ error: `body is too large (${Buffer.byteLength(huge)} bytes, at most 1000000 bytes).`, field: 'body' });
			expectNothingEmitted(call);
		});
	});

	it('a refund sent to the paid-order webhook: 200 {ignored: true}, the workflow is not started', async () => {
		const a = await sendSigned(h.url, JSON.stringify({ event: 'order.refunded', orderId: 'T20261123001' }));
		const call = await settled(h);
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ignored: true, event: 'order.refunded', message: expect.stringMatching(/order\.paid only/) });
		expectNothingEmitted(call);
	});

	it('n8n routes only POST to the node', async () => {
		const a = await post(h.url, '', {}, 'GET');
		expect(a.status).toBe(404);
		expect(h.calls[h.calls.length - 1].nodeCalled).toBe(false);
	});

	it('concurrent calls: 20 valid and 20 forged at once → exactly the 20 valid ones emit', async () => {
		const before = h.calls.length;
		const answers = await Promise.all(
			Array.from({ length: 40 }, (_, i) => {
				const raw = JSON.stringify({ ...ORDER, orderId: `C${i}` });
				return sendSigned(h.url, raw, i % 2 === 0 ? {} : { secret: 'forged-secret-xyz' });
			}),
		);
		await Promise.all(h.calls.slice(before).map((c) => c.done));
		expect(answers.filter((a) => a.status === 202)).toHaveLength(20);
		expect(answers.filter((a) => a.status === 401)).toHaveLength(20);
		const emitted = h.calls.slice(before).filter((c) => c.emitted !== null);
		expect(emitted).toHaveLength(20);
		expect(new Set(emitted.map((c) => c.emitted![0].json.orderId))).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `C${i * 2}`)));
	});
});

describe('how the raw body is obtained', () => {
	it.each(['lazy', 'plain'] as const)('%s request: valid order accepted, one-byte change rejected, huge body 413', async (flavour) => {
		const h = await startHarness({ flavour });
		try {
			const ok = await sendSigned(h.url, RAW);
			expect(ok.status).toBe(202);
			const call = await settled(h);
			expect(call.emitted!.map((i) => i.json)).toEqual(LINE_ITEMS);
			// lazy: the node called n8n's readRawBody(); plain: it read the stream itself
			expect(call.rawBodySet).toBe(flavour === 'lazy');

			const tampered = await sendSigned(h.url, RAW, { bodyOnWire: Buffer.from(RAW.replace('小明', '小红')) });
			expect(tampered.status).toBe(401);
			expectNothingEmitted(await settled(h));

			const huge = JSON.stringify({ ...ORDER, note: 'y'.repeat(1_200_000) });
			const big = await sendSigned(h.url, huge);
			expect(big.status).toBe(413);
			expect((big.body as { field: string }).field).toBe('body');
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});

	it('plain request without Content-Length (chunked) over the limit → 413 while reading', async () => {
		const h = await startHarness({ flavour: 'plain', parameters: { options: { maxBodyKb: 2 } } });
		try {
			const raw = JSON.stringify({ ...ORDER, note: 'z'.repeat(5000) });
			const ts = String(Math.floor(Date.now() / 1000));
			const a = await new Promise<Answer>((resolve, reject) => {
				const req = http.request(h.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Timestamp': ts, 'X-Signature': signPayload(SECRET, ts, raw), 'Transfer-Encoding': 'chunked' } }, (res) => {
					const chunks: Buffer[] = [];
					res.on('data', (c: Buffer) => chunks.push(c));
					res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString(), body: JSON.parse(Buffer.concat(chunks).toString()) }));
				});
				req.on('error', reject);
				for (let i = 0; i < raw.length; i += 1000) req.write(raw.slice(i, i + 1000));
				req.end();
			});
			expect(a.status).toBe(413);
			expect(a.body).toEqual({ error: 'body is too large (more than 2000 bytes, at most 2000 bytes).', field: 'body' });
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});
});

describe('configuration problems: 500, a failed start with a clear message, never the secret', () => {
	it('signature on but no signing secret in the credential', async () => {
		const h = await startHarness({ credentials: { autoDeliveryShopApi: { signingSecret: '', authType: 'none' } } });
		try {
			const a = await sendSigned(h.url, RAW);
			const call = await settled(h);
			expect(a.status).toBe(500);
			expect(call.error?.message).toMatch(/no webhook signing secret is configured/);
			expectNothingEmitted(call);
		} finally {
			await h.close();
		}
	});

	it('signature on but no credential attached', async () => {
		const h = await startHarness({ attachCredentials: false });
		try {
			const a = await sendSigned(h.url, RAW);
			const call = await settled(h);
			expect(a.status).toBe(500);
			expect(call.error?.message).toMatch(/credentials/i);
			expectNothingEmitted(call);
		} finally {
			await h.close();
		}
	});

	it('a malformed field mapping or a duplicate row', async () => {
		for (const fieldMapping of [
			{ fields: [{ field: 'orderId', path: 'data..tid' }] },
			{ fields: [{ field: 'orderId', path: 'a' }, { field: 'orderId', path: 'b' }] },
		]) {
			const h = await startHarness({ parameters: { fieldMapping } });
			try {
				const a = await sendSigned(h.url, RAW);
				const call = await settled(h);
				expect(a.status).toBe(500);
				expect(call.error?.message).toMatch(/Field Mapping|Field mapping/);
				expect(a.text).not.toContain(SECRET);
				expectNothingEmitted(call);
			} finally {
				await h.close();
			}
		}
	});

	it("Respond: Using 'Respond to Webhook' Node — needs such a node, of version 1", async () => {
		const respond = (typeVersion: number): INode => ({ id: 'r', name: 'Respond', type: RESPOND, typeVersion, position: [200, 0], parameters: {} });
		const none = await startHarness({ parameters: { responseMode: 'responseNode' } });
		try {
			const a = await sendSigned(none.url, RAW);
			expect(a.status).toBe(500);
			expect(a.body).toMatchObject({ message: 'No Respond to Webhook node found in the workflow' });
			expectNothingEmitted(await settled(none));
		} finally {
			await none.close();
		}
		const strict = await startHarness({ parameters: { responseMode: 'responseNode' }, downstream: [respond(1.5)] });
		try {
			const a = await sendSigned(strict.url, RAW);
			const call = await settled(strict);
			expect(a.status).toBe(500);
			expect(call.error).toBeInstanceOf(WorkflowConfigurationError);
			expect((a.body as { message: string }).message).toMatch(/"Respond" \(version 1.5\) cannot answer for Shop Webhook/);
			expectNothingEmitted(call);
		} finally {
			await strict.close();
		}
		const v1 = await startHarness({ parameters: { responseMode: 'responseNode' }, downstream: [respond(1)] });
		try {
			const a = await sendSigned(v1.url, RAW);
			const call = await settled(v1);
			expect(a.status).toBe(200);
			expect(call.result?.webhookResponse).toBeUndefined();
			expect(call.emitted).toHaveLength(2);
		} finally {
			await v1.close();
		}
	});
});

describe('node parameters', () => {
	it('field mapping and event mapping (incl. ignore) for a shop with its own JSON; refunds; "any"', async () => {
		const h = await startHarness({
			parameters: {
				events: 'any',
				fieldMapping: {
					fields: [
						{ field: 'event', path: 'type' },
						{ field: 'orderId', path: 'data.tid' },
						{ field: 'items', path: 'data.orders' },
						{ field: 'items.sku', path: 'outer_sku' },
						{ field: 'items.quantity', path: 'num' },
						{ field: 'buyer.email', path: 'data.buyer_email' },
					],
				},
				eventMapping: {
					values: [
						{ value: 'TRADE_PAID', event: 'order.paid' },
						{ value: 'REFUND_SUCCESS', event: 'order.refunded' },
						{ value: 'TRADE_CLOSED', event: 'ignore' },
					],
				},
			},
		});
		try {
			const body = { type: 'TRADE_PAID', data: { tid: 99887766, buyer_email: 'b@example.com', orders: [{ outer_sku: 'STEAM-50', num: '2' }] } };
			const paid = await sendSigned(h.url, JSON.stringify(body));
			expect(paid.status).toBe(202);
			expect(paid.body).toEqual({ received: true, orderId: '99887766' });
			expect((await settled(h)).emitted!.map((i) => i.json)).toEqual([
				{ event: 'order.paid', orderId: '99887766', shop: null, buyer: { id: null, name: null, email: 'b@example.com', ip: null }, amount: null, currency: null, paidAt: null, sku: 'STEAM-50', name: null, quantity: 2, price: null, line: 0, lines: 1 },
			]);

			const refund = await sendSigned(h.url, JSON.stringify({ ...body, type: 'REFUND_SUCCESS' }));
			expect(refund.status).toBe(202);
			expect((await settled(h)).emitted!.map((i) => i.json)).toEqual([
				{ event: 'order.refunded', orderId: '99887766', shop: null, buyer: { id: null, name: null, email: 'b@example.com', ip: null }, amount: null, currency: null, paidAt: null, items: [{ sku: 'STEAM-50', quantity: 2 }] },
			]);

			const closed = await sendSigned(h.url, JSON.stringify({ ...body, type: 'TRADE_CLOSED' }));
			expect(closed.status).toBe(200);
			expect(closed.body).toEqual({ ignored: true, event: 'TRADE_CLOSED', message: expect.any(String) });
			expectNothingEmitted(await settled(h));

			const nowhere = await sendSigned(h.url, JSON.stringify({ ...body, data: { orders: body.data.orders } }));
			expect(nowhere.status).toBe(400);
			expect(nowhere.body).toEqual({ error: 'orderId (from "data.tid") is required.', field: 'orderId' });
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});

	it('one item per order, custom headers and tolerance, signature off', async () => {
		const h = await startHarness({
			parameters: { paidOutput: 'order', options: { signatureHeader: 'X-Shop-Sign', timestampHeader: 'X-Shop-Time', toleranceSeconds: 30 } },
		});
		try {
			const now = Math.floor(Date.now() / 1000);
			const headers = (ts: number) => ({ 'X-Timestamp': undefined, 'X-Signature': undefined, 'X-Shop-Time': String(ts), 'X-Shop-Sign': signPayload(SECRET, ts, RAW) });
			const a = await post(h.url, RAW, { 'Content-Type': 'application/json', ...headers(now) });
			expect(a.status).toBe(202);
			const [item] = (await settled(h)).emitted!.map((i) => i.json);
			expect(item).toEqual({
				event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld', buyer: ORDER.buyer, amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
				items: [
					{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 },
					{ sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60 },
				],
			});
			const old = await post(h.url, RAW, { 'Content-Type': 'application/json', ...headers(now - 60) });
			expect(old.status).toBe(401);
			expect(old.body).toMatchObject({ reason: 'expired', field: 'x-shop-time' });
			const defaultHeaders = await sendSigned(h.url, RAW);
			expect(defaultHeaders.status).toBe(401);
			expect(defaultHeaders.body).toMatchObject({ reason: 'missing_signature', error: expect.stringMatching(/^The X-Shop-Sign header is missing/) });
		} finally {
			await h.close();
		}

		const open = await startHarness({ parameters: { verifySignature: false }, attachCredentials: false, credentials: {} });
		try {
			const a = await post(open.url, RAW, { 'Content-Type': 'application/json' });
			expect(a.status).toBe(202);
			expect((await settled(open)).emitted).toHaveLength(2);
		} finally {
			await open.close();
		}
	});
});

describe('in n8n\'s engine: Shop Webhook → Claim Key, "When Last Node Finishes"', () => {
	const cfg = storeConfig('sqlite');
	const storeCred = { database: 'sqlite', sqlitePath: cfg.sqlitePath as string, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
	const KEYS = { 'STEAM-50': ['STEAM-AAAA-1111', 'STEAM-BBBB-2222', 'STEAM-CCCC-3333'], 'NETFLIX-1M': ['NFLX-DDDD-4444'] };
	let h: Harness;

	beforeAll(async () => {
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		for (const [sku, keys] of Object.entries(KEYS)) await store.importKeys({ sku, keys });
		h = await startHarness({
			parameters: { responseMode: 'lastNode', responseData: 'allEntries' },
			credentials: { autoDeliveryShopApi: { signingSecret: SECRET, authType: 'none' }, autoDeliveryKeyStore: storeCred },
			engine: true,
			downstream: [
				{
					id: 'c1', name: 'Claim Key', type: CLAIM, typeVersion: 1, position: [200, 0],
					parameters: {
						orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}',
						details: { buyerEmail: '={{ $json.buyer.email }}', buyerName: '={{ $json.buyer.name }}', amount: '={{ $json.amount }}', shop: '={{ $json.shop }}' },
					},
				},
			],
		});
	});
	afterAll(async () => {
		await h.close();
		await closeAllStores();
		await dropStore(cfg);
	});

	it('a signed order runs the workflow from the trigger: each line claims its keys, the shop gets the result (keys masked)', async () => {
		const a = await sendSigned(h.url, RAW);
		const call = await settled(h);
		expect(call.run?.status).toBe('success');
		expect(call.run?.executionOrder).toEqual(['Shop Webhook', 'Claim Key']);
		expect(call.run?.outputs['Shop Webhook'][0].map((i) => i.json)).toEqual(LINE_ITEMS);
		expect(a.status).toBe(200);
		const delivered = a.body as Array<Record<string, unknown>>;
		expect(delivered.map((d) => [d.orderId, d.sku, d.quantity, d.status, d.alreadyDelivered])).toEqual([
			['T20261123001', 'STEAM-50', 2, 'claimed', false],
			['T20261123001', 'NETFLIX-1M', 1, 'claimed', false],
		]);
		expect(delivered[0].buyer).toMatchObject({ email: 'buyer@example.com', name: '小明' });
		for (const key of Object.values(KEYS).flat()) expect(a.text).not.toContain(key);

		// the same webhook delivered again (a retry): the same keys, nothing new claimed
		const again = await sendSigned(h.url, RAW);
		await settled(h);
		const second = again.body as Array<Record<string, unknown>>;
		expect(second.map((d) => d.alreadyDelivered)).toEqual([true, true]);
		expect(second.map((d) => d.keyIds)).toEqual(delivered.map((d) => d.keyIds));
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		const stock = await store.stock();
		expect(stock.map((s) => [s.sku, s.available])).toEqual(expect.arrayContaining([['STEAM-50', 1], ['NETFLIX-1M', 0]]));
	});

	it('rejected calls start nothing and claim nothing', async () => {
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		const other = JSON.stringify({ ...ORDER, orderId: 'T-FORGED', items: [{ sku: 'STEAM-50', quantity: 1 }] });
		const forged = await sendSigned(h.url, other, { secret: 'attacker-secret' });
		expect(forged.status).toBe(401);
		expectNothingEmitted(await settled(h));
		const bad = await sendSigned(h.url, JSON.stringify({ ...ORDER, orderId: 'T-BAD', items: [{ sku: 'STEAM-50', quantity: 0 }] }));
		expect(bad.status).toBe(400);
		expectNothingEmitted(await settled(h));
		expect(await store.getDeliveries({ orderId: 'T-FORGED' })).toEqual([]);
		expect(await store.getDeliveries({ orderId: 'T-BAD' })).toEqual([]);
		expect((await store.stock('STEAM-50'))[0].available).toBe(1);
	});
});
