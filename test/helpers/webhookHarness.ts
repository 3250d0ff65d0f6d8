/**
 * Shop Webhook driven the way n8n drives it, by real HTTP requests (used by
 * test/integration/shopWebhook*.test.ts).
 *
 * A local HTTP server plays n8n's webhook server: it routes POST /webhook/<path> to the node,
 * prepares the request like n8n (n8n-core's parseIncomingMessage, a `readRawBody()` that
 * gunzips/inflates and sets `req.rawBody`, and — for a typeVersion 1 start node — n8n's
 * `parseBody` (packages/cli/src/middlewares/body-parser.ts): JSON, form fields and text become
 * `req.body`, and broken JSON declared as application/json is answered 422 by n8n itself), builds
 * n8n-core's own WebhookContext (as n8n's WebhookService.runWebhook does) and calls
 * `nodeType.webhook`. Then it answers like n8n's executeWebhook: nothing when the node answered
 * itself (`noWebhookResponse`), else according to the webhook description's responseMode /
 * responseCode / responseData, evaluated with n8n's expression engine. For "When Last Node
 * Finishes" the emitted items are run through the rest of the workflow in n8n's engine
 * (test/helpers/n8nEngine.ts), starting at the trigger with the trigger's output as n8n does.
 *
 * Variants of the request preparation: 'n8n' (as above), 'lazy' (only `readRawBody()` is
 * defined, nothing read yet) and 'plain' (an untouched Node.js request: the node reads the stream).
 *
 * Call `bootN8nCore()` in a beforeAll before starting a harness.
 */
import * as http from 'node:http';
import { parse as parseQueryString } from 'node:querystring';

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
import { RevokeOnRefund } from '../../nodes/RevokeOnRefund/RevokeOnRefund.node';
import { ShopWebhook } from '../../nodes/ShopWebhook/ShopWebhook.node';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, type RunResult } from './n8nEngine';

export const WEBHOOK = 'n8n-nodes-auto-delivery.shopWebhook';
export const CLAIM = 'n8n-nodes-auto-delivery.claimKey';
export const REVOKE = 'n8n-nodes-auto-delivery.revokeOnRefund';
export const RESPOND = 'n8n-nodes-base.respondToWebhook';

let core: typeof N8nCore;

/** Boots n8n-core the way the engine helper does (temp user folder, silent logger), then uses its classes. */
export async function bootN8nCore(): Promise<void> {
	const boot = await runWorkflow(
		{ nodes: [{ id: 's', name: 'Start', type: MANUAL_TRIGGER_NODE_TYPE, typeVersion: 1, position: [0, 0], parameters: {} }], connections: {} },
		{ nodeTypes: {} },
	);
	expect(boot.status).toBe('success');
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	core = require('n8n-core') as typeof N8nCore;
}

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

export const shopWebhook = new ShopWebhook();
const types: Record<string, INodeType> = {
	[WEBHOOK]: shopWebhook,
	[CLAIM]: new ClaimKey(),
	[REVOKE]: new RevokeOnRefund(),
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
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

export type Flavour = 'n8n' | 'lazy' | 'plain';

export interface Call {
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

export interface HarnessOptions {
	parameters?: Record<string, unknown>;
	/** Extra nodes after the trigger (connected in a chain from "Shop Webhook"). */
	downstream?: INode[];
	connections?: IConnections;
	/** Credential data by type (what n8n's credentials helper decrypts), e.g. `{ autoDeliveryShopApi: { signingSecret, … } }`. */
	credentials: Record<string, ICredentialDataDecryptedObject>;
	/** Attach credential references to the node (default true). */
	attachCredentials?: boolean;
	flavour?: Flavour;
	/** Run the workflow in n8n's engine after the trigger emitted (needed for lastNode). */
	engine?: boolean;
}

export interface Harness {
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

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
	const flavour = opts.flavour ?? 'n8n';
	const { credentials } = opts;
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
		const [urlPath, search = ''] = (req.url ?? '').split('?');
		if (urlPath !== registered || req.method !== httpMethod) {
			sendJson(res, 404, { code: 404, message: `The requested webhook "${req.method} ${req.url}" is not registered.` });
			return;
		}
		// express's query parser: what n8n's getQueryData() returns (闲管家 signs in the query)
		(req as N8nRequest & { query?: Record<string, string> }).query = Object.fromEntries(new URLSearchParams(search));
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
		if (flavour === 'n8n' && req.contentType === 'multipart/form-data') {
			// n8n parses multipart itself (webhook-helpers parseRequestBody → formidable): the stream is
			// consumed, req.body holds the fields, and there are no raw bytes left to read
			await readAll(req);
			req._body = true;
			req.body = { data: {}, files: {} };
			req.readRawBody = async () => {
				throw new Error('stream is not readable');
			};
		}
		if (flavour === 'n8n' && !req.contentType?.startsWith('multipart/')) {
			await req.readRawBody();
			if (req.rawBody?.length) {
				try {
					if (req.contentType === 'application/json') req.body = JSON.parse(req.rawBody.toString(req.encoding));
					else if (req.contentType === 'application/x-www-form-urlencoded') req.body = parseQueryString(req.rawBody.toString(req.encoding), undefined, undefined, { maxKeys: 1000 });
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

export interface Answer {
	status: number;
	headers: http.IncomingHttpHeaders;
	text: string;
	body: unknown;
}

export function post(url: string, body: string | Buffer, headers: Record<string, string | undefined> = {}, method = 'POST'): Promise<Answer> {
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


export async function settled(h: Harness): Promise<Call> {
	const call = h.calls[h.calls.length - 1];
	await call.done;
	return call;
}

/** The request was answered without starting the workflow. */
export function expectNothingEmitted(call: Call) {
	expect(call.emitted).toBeNull();
	expect(call.result?.workflowData).toBeUndefined();
	expect(call.run).toBeUndefined();
}
