/**
 * In-process n8n workflow runner for tests.
 *
 * Runs a real workflow with n8n's own engine (`WorkflowExecute` from n8n-core, `Workflow` from
 * n8n-workflow): parameter resolution, expressions, credentials look-up, continueOnFail / onError,
 * multiple outputs and pairedItem handling are exactly what n8n does at runtime — no mocked
 * IExecuteFunctions.
 *
 *   const result = await runWorkflow(
 *     {
 *       nodes: [
 *         { id: '1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
 *         { id: '2', name: 'Data', type: 'test.setItems', typeVersion: 1, position: [200, 0], parameters: { items: '[{"a":1}]' } },
 *         { id: '3', name: 'Pool', type: 'n8n-nodes-auto-delivery.keyPool', typeVersion: 1, position: [400, 0], parameters: {...} },
 *       ],
 *       connections: chain('Start', 'Data', 'Pool'),
 *     },
 *     { nodeTypes: { 'n8n-nodes-auto-delivery.keyPool': new KeyPool() }, credentials: [{ type: '<credential type name>', data: {...} }] },
 *   );
 *   expect(result.status).toBe('success');
 *   expect(result.outputs.Pool[0].map((i) => i.json)).toEqual([...]);
 *
 * n8n-core is loaded lazily on the first `runWorkflow` call, after N8N_USER_FOLDER has been
 * pointed at a fresh temp dir (n8n writes its instance `config` file there) and the n8n logger
 * has been silenced. Set N8N_ENGINE_TEST_LOG_LEVEL=debug (or info/warn/error) to see n8n's logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ICredentialsHelper,
	NodeConnectionTypes,
	NodeHelpers,
	NodeOperationError,
	Workflow,
	deepCopy,
	jsonParse,
} from 'n8n-workflow';
import type {
	ICredentialDataDecryptedObject,
	ICredentials,
	IConnections,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
	INodeTypes,
	IRequestOptionsSimplified,
	IRun,
	IRunData,
	ITriggerFunctions,
	ITriggerResponse,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IWorkflowSettings,
} from 'n8n-workflow';
// Type-only: also pulls in n8n-core's augmentation of IWorkflowExecuteAdditionalData (`hooks`, ...).
import type * as N8nCore from 'n8n-core';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface EngineCredential {
	/** Matched against `node.credentials[type].id` (then `.name`); optional if only one credential of this type is given. */
	id?: string;
	name?: string;
	/** Credential type name, e.g. 'autoDeliveryKeyStore' — what the node passes to `this.getCredentials(type)`. */
	type: string;
	/** The decrypted credential data returned to the node. */
	data: Record<string, unknown>;
}

export interface RunOptions {
	/** key = the node type name used in the workflow JSON, e.g. 'n8n-nodes-auto-delivery.keyPool'. */
	nodeTypes: Record<string, INodeType | IVersionedNodeType>;
	/** Served by the credentials helper when a node calls `this.getCredentials(type)`. */
	credentials?: EngineCredential[];
	/** Name of the node to start from. Default: the first manual-trigger node, else n8n's own start-node choice. */
	startNode?: string;
	/**
	 * When a node's type declares a credential type for which `credentials` has an entry but the node in the
	 * workflow JSON has no `credentials[type]` reference, add one (like picking it in the n8n editor).
	 * Default true. Set false to test n8n's "Node does not have any credentials set" behaviour.
	 */
	autoAssignCredentials?: boolean;
}

export interface RunResult {
	/** Run status, e.g. 'success' | 'error'. */
	status: string;
	/** The workflow-level error (data.resultData.error) if any, as an Error carrying n8n's error fields (name, node, description, ...). */
	error?: Error & { message: string };
	/** outputs[nodeName][outputIndex] = items of that output in the node's last run (exactly as n8n produced them, incl. pairedItem). */
	outputs: Record<string, Array<Array<INodeExecutionData>>>;
	/** Node names in the order their runs finished (from the nodeExecuteAfter hook). */
	executionOrder: string[];
	runData: IRunData;
	raw: IRun;
}

export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowSettings;
}

// ---------------------------------------------------------------------------------------------
// Built-in helper node types
// ---------------------------------------------------------------------------------------------

export const MANUAL_TRIGGER_NODE_TYPE = 'n8n-nodes-base.manualTrigger';
export const SET_ITEMS_NODE_TYPE = 'test.setItems';

/** Minimal equivalent of n8n-nodes-base.manualTrigger: emits one empty item when the workflow is run manually. */
export const manualTriggerNode: INodeType = {
	description: {
		displayName: 'Manual Trigger',
		name: 'manualTrigger',
		icon: 'fa:mouse-pointer',
		group: ['trigger', 'input'],
		version: 1,
		description: 'Runs the flow on clicking a button in n8n',
		eventTriggerDescription: '',
		maxNodes: 1,
		defaults: { name: "When clicking 'Execute workflow'" },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	},
	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const manualTriggerFunction = async () => {
			this.emit([this.helpers.returnJsonArray([{}])]);
		};
		return { manualTriggerFunction };
	},
};

/**
 * 'test.setItems': emits the JSON array in parameter `items` (a JSON string, or an array/object from an
 * expression) as items, each paired to input item 0. Use it to feed test data into the node under test.
 */
export const setItemsNode: INodeType = {
	description: {
		displayName: 'Set Items (test)',
		name: 'setItems',
		group: ['transform'],
		version: 1,
		description: 'Emits the given JSON array as items',
		defaults: { name: 'Set Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Items (JSON Array)',
				name: 'items',
				type: 'json',
				default: '[]',
				description: 'Each array element becomes the `json` of one output item',
			},
		],
	},
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as unknown;
		let parsed: unknown = raw;
		if (typeof raw === 'string') {
			try {
				parsed = jsonParse<unknown>(raw);
			} catch (error) {
				throw new NodeOperationError(this.getNode(), `Parameter "items" is not valid JSON: ${(error as Error).message}`);
			}
		}
		const list = Array.isArray(parsed) ? parsed : [parsed];
		return [
			list.map((entry, index) => {
				if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
					throw new NodeOperationError(this.getNode(), `items[${index}] must be a JSON object`);
				}
				return { json: deepCopy(entry as IDataObject), pairedItem: { item: 0 } };
			}),
		];
	},
};

// ---------------------------------------------------------------------------------------------
// Engine bootstrap (lazy, once per module registry)
// ---------------------------------------------------------------------------------------------

interface EngineModules {
	core: typeof N8nCore;
}

let engine: EngineModules | undefined;
let userFolder: string | undefined;

function removeUserFolder(): void {
	if (!userFolder) return;
	try {
		fs.rmSync(userFolder, { recursive: true, force: true });
	} catch {
		// best effort
	}
	userFolder = undefined;
}

// Under jest every test file gets its own module registry (and its own process.env copy), so this
// module — and n8n-core's DI container — is per test file: clean up after the file. Elsewhere
// (ts-node scripts) clean up when the process exits.
if (typeof afterAll === 'function') afterAll(removeUserFolder);
else process.once('exit', removeUserFolder);

/** Point n8n at a fresh temp user folder (it writes `.n8n/config` there); never touch a real ~/.n8n. */
function prepareUserFolder(): void {
	userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-engine-test-'));
	process.env.N8N_USER_FOLDER = userFolder;
}

function loadEngine(): EngineModules {
	if (engine) return engine;

	prepareUserFolder();
	// Keep the instance settings file quiet about its (tmp dir) permissions.
	process.env.N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS ??= 'false';

	/* eslint-disable @typescript-eslint/no-require-imports */
	// Loaded only now, so that the env above is in place before n8n's config classes are read.
	// @n8n/di, @n8n/config and @n8n/backend-common are n8n-core's own (pinned) dependencies.
	const { Container } = require('@n8n/di') as typeof import('@n8n/di');
	const { GlobalConfig, InstanceSettingsConfig } = require('@n8n/config') as typeof import('@n8n/config');
	const { Logger } = require('@n8n/backend-common') as typeof import('@n8n/backend-common');
	const core = require('n8n-core') as typeof N8nCore;
	/* eslint-enable @typescript-eslint/no-require-imports */

	const globalConfig = Container.get(GlobalConfig);
	const level = (process.env.N8N_ENGINE_TEST_LOG_LEVEL ?? 'silent') as typeof globalConfig.logging.level;
	globalConfig.logging.level = level;
	globalConfig.logging.outputs = ['console'];
	globalConfig.sentry.backendDsn = ''; // never report to Sentry from tests
	// A real n8n Logger at level 'silent' (also becomes n8n-workflow's LoggerProxy target).
	Container.set(Logger, new Logger(globalConfig, Container.get(InstanceSettingsConfig)));

	// Creates the instance `config` (encryption key) in the temp user folder.
	Container.get(core.InstanceSettings);

	// Every node execution context resolves the SSHClientsManager singleton, whose constructor starts a
	// 60s cleanup setInterval that n8n only clears on shutdown. Unref it so test processes can exit.
	const { SSHClientsManager } =
		require('n8n-core/dist/execution-engine/ssh-clients-manager') as typeof import('n8n-core/dist/execution-engine/ssh-clients-manager');
	const sshClients = Container.get(SSHClientsManager) as unknown as { cleanupTimer?: NodeJS.Timeout };
	sshClients.cleanupTimer?.unref();

	engine = { core };
	return engine;
}

// ---------------------------------------------------------------------------------------------
// INodeTypes + credentials helper
// ---------------------------------------------------------------------------------------------

class TestNodeTypes implements INodeTypes {
	constructor(private readonly types: Record<string, INodeType | IVersionedNodeType>) {}

	has(type: string): boolean {
		return Object.prototype.hasOwnProperty.call(this.types, type);
	}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		if (!this.has(nodeType)) throw unknownNodeType(nodeType, Object.keys(this.types));
		return this.types[nodeType];
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

function unknownNodeType(type: string, known: string[]): Error {
	return new Error(
		`[n8nEngine] Unknown node type "${type}". Pass it in options.nodeTypes (known: ${known.join(', ')})`,
	);
}

class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly credentials: EngineCredential[],
		private readonly core: typeof N8nCore,
	) {
		super();
	}

	/** Resolve the EngineCredential a node's credential reference points at. */
	find(nodeCredentials: INodeCredentialsDetails | undefined, type: string): EngineCredential {
		const ofType = this.credentials.filter((c) => c.type === type);
		const id = nodeCredentials?.id ?? undefined;
		const name = nodeCredentials?.name;
		const match =
			(id !== undefined ? ofType.find((c) => c.id !== undefined && c.id === id) : undefined) ??
			(name ? ofType.find((c) => c.name !== undefined && c.name === name) : undefined) ??
			(ofType.length === 1 ? ofType[0] : undefined);
		if (!match) {
			// Same wording as n8n's CredentialNotFoundError.
			throw new Error(`Credential with ID "${id ?? ''}" does not exist for type "${type}".`);
		}
		return match;
	}

	getParentTypes(_name: string): string[] {
		return [];
	}

	async authenticate(
		_credentials: ICredentialDataDecryptedObject,
		_typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
	): Promise<IHttpRequestOptions> {
		// Credential type definitions are not loaded, so no `authenticate` rules are applied.
		return requestOptions as IHttpRequestOptions;
	}

	async preAuthentication(
		_helpers: IHttpRequestHelper,
		_credentials: ICredentialDataDecryptedObject,
		_typeName: string,
		_node: INode,
		_credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<ICredentials> {
		const found = this.find(nodeCredentials, type);
		const credentials = new this.core.Credentials(
			{ id: found.id ?? nodeCredentials.id, name: found.name ?? nodeCredentials.name },
			type,
		);
		credentials.setData(deepCopy(found.data) as ICredentialDataDecryptedObject);
		return credentials;
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		// A copy per call, like n8n (which decrypts afresh each time).
		return deepCopy(this.find(nodeCredentials, type).data) as ICredentialDataDecryptedObject;
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.find(nodeCredentials, type).data = deepCopy(data);
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		const found = this.find(nodeCredentials, type);
		found.data = { ...found.data, ...deepCopy(data) };
	}

	getCredentialsProperties(_type: string): INodeProperties[] {
		return [];
	}
}

// ---------------------------------------------------------------------------------------------
// runWorkflow
// ---------------------------------------------------------------------------------------------

const notSupported = (what: string) => async (): Promise<never> => {
	throw new Error(`[n8nEngine] ${what} is not supported in tests`);
};

let executionCounter = 0;

export async function runWorkflow(workflowJson: WorkflowJson, options: RunOptions): Promise<RunResult> {
	const { core } = loadEngine();

	const nodeTypes = new TestNodeTypes({
		[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
		[SET_ITEMS_NODE_TYPE]: setItemsNode,
		...options.nodeTypes,
	});
	const credentials = (options.credentials ?? []).map((c) => ({ ...c, data: deepCopy(c.data) }));

	// The Workflow constructor mutates nodes (fills in parameter defaults) — work on a copy.
	const nodes = deepCopy(workflowJson.nodes);
	for (const node of nodes) {
		if (!nodeTypes.has(node.type)) throw unknownNodeType(node.type, Object.keys(options.nodeTypes));
		if (options.autoAssignCredentials !== false) {
			const description: INodeTypeDescription = nodeTypes.getByNameAndVersion(node.type, node.typeVersion)
				.description;
			for (const { name: credType } of description.credentials ?? []) {
				if (node.credentials?.[credType]) continue;
				const cred = credentials.find((c) => c.type === credType);
				if (!cred) continue;
				node.credentials = {
					...node.credentials,
					[credType]: { id: cred.id ?? `${credType}-test-id`, name: cred.name ?? credType },
				};
			}
		}
	}
	const connections = deepCopy(workflowJson.connections);
	// n8n's editor creates new workflows with execution order v1; default to that (v0 is the legacy order).
	const settings: IWorkflowSettings = { executionOrder: 'v1', ...(workflowJson.settings ?? {}) };

	const workflowId = 'test-workflow';
	const workflowName = workflowJson.name ?? 'Test workflow';
	const workflow = new Workflow({
		id: workflowId,
		name: workflowName,
		nodes,
		connections,
		active: false,
		nodeTypes,
		settings,
		staticData: {},
	});

	let startNode: INode | undefined;
	if (options.startNode !== undefined) {
		startNode = workflow.getNode(options.startNode) ?? undefined;
		if (!startNode) throw new Error(`[n8nEngine] startNode "${options.startNode}" is not in the workflow`);
	} else {
		startNode =
			Object.values(workflow.nodes).find((n) => n.type === MANUAL_TRIGGER_NODE_TYPE) ?? workflow.getStartNode();
		if (!startNode) throw new Error('[n8nEngine] No start node found (add a manual trigger or pass startNode)');
	}

	const executionId = `test-${process.pid}-${++executionCounter}`;
	const workflowData: IWorkflowBase = {
		id: workflowId,
		name: workflowName,
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections,
		settings,
	};
	const hooks = new core.ExecutionLifecycleHooks('manual', executionId, workflowData);
	const executionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName) => {
		executionOrder.push(nodeName);
	});

	const baseUrl = 'http://localhost:5678/';
	const additionalData: IWorkflowExecuteAdditionalData = {
		credentialsHelper: new TestCredentialsHelper(credentials, core),
		hooks,
		executionId,
		currentNodeExecutionIndex: 0,
		userId: 'test-user',
		restApiUrl: `${baseUrl}rest`,
		instanceBaseUrl: baseUrl,
		formWaitingBaseUrl: `${baseUrl}form-waiting`,
		webhookBaseUrl: `${baseUrl}webhook`,
		webhookWaitingBaseUrl: `${baseUrl}webhook-waiting`,
		webhookTestBaseUrl: `${baseUrl}webhook-test`,
		variables: {},
		externalSecretsProxy: new core.ExternalSecretsProxy(),
		executeWorkflow: notSupported('executeWorkflow (sub-workflows)'),
		getRunExecutionData: notSupported('getRunExecutionData'),
		startRunnerTask: notSupported('startRunnerTask (Code node task runners)'),
		logAiEvent: () => {},
		setExecutionStatus: () => {},
		sendDataToUI: () => {},
	};

	const raw = await new core.WorkflowExecute(additionalData, 'manual').run(workflow, startNode);
	const runData = raw.data.resultData.runData;

	const outputs: RunResult['outputs'] = {};
	for (const [nodeName, tasks] of Object.entries(runData)) {
		const last = tasks[tasks.length - 1];
		outputs[nodeName] = (last?.data?.[NodeConnectionTypes.Main] ?? []).map((items) => items ?? []);
	}

	return {
		status: raw.status,
		error: toError(raw.data.resultData.error),
		outputs,
		executionOrder,
		runData,
		raw,
	};
}

/** n8n stores the workflow error as a spread copy of the thrown error; give tests a real Error with the same fields. */
function toError(stored: unknown): (Error & { message: string }) | undefined {
	if (stored === undefined || stored === null) return undefined;
	if (stored instanceof Error) return stored;
	const fields = stored as Record<string, unknown>;
	const error = new Error(String(fields.message ?? 'Unknown workflow error'));
	Object.assign(error, fields);
	return error;
}

/**
 * Convenience for building `connections`: chain('A', 'B', 'C') connects A→B→C on main output 0.
 * For branches use `connect(from, outputIndex, to)` and merge the objects.
 */
export function chain(...nodeNames: string[]): IConnections {
	const connections: IConnections = {};
	for (let i = 0; i < nodeNames.length - 1; i++) {
		mergeConnection(connections, nodeNames[i], 0, nodeNames[i + 1]);
	}
	return connections;
}

export function connect(from: string, outputIndex: number, to: string, base: IConnections = {}): IConnections {
	mergeConnection(base, from, outputIndex, to);
	return base;
}

function mergeConnection(connections: IConnections, from: string, outputIndex: number, to: string): void {
	const main = ((connections[from] ??= {})[NodeConnectionTypes.Main] ??= []);
	while (main.length <= outputIndex) main.push([]);
	(main[outputIndex] ??= []).push({ node: to, type: NodeConnectionTypes.Main, index: 0 });
}

/** Node builders for workflow JSON: ids and positions numbered in creation order. */
export function workflowBuilders() {
	let n = 0;
	const node = (name: string, type: string, parameters: Record<string, unknown>, extra: Partial<INode> = {}): INode =>
		({ id: `n${++n}`, name, type, typeVersion: 1, position: [n * 200, 0], parameters, ...extra }) as INode;
	const start = () => node('Start', MANUAL_TRIGGER_NODE_TYPE, {});
	const data = (items: unknown[]) => node('Data', SET_ITEMS_NODE_TYPE, { items: JSON.stringify(items) });
	const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json);
	return { node, start, data, json };
}

// ---------------------------------------------------------------------------------------------
// runPoll: one poll of a polling trigger (`polling: true`) in n8n-core's PollContext
// ---------------------------------------------------------------------------------------------

export interface PollOptions {
	nodeType: INodeType;
	credentials?: EngineCredential[];
	/** The workflow's static data, kept by the caller between polls (n8n keeps it in the database). */
	staticData: IDataObject;
	/** 'trigger' (an active workflow's poll, the default) or 'manual' (the editor's "Fetch Test Event"). */
	mode?: 'trigger' | 'manual';
}

/** Calls `poll()` of the trigger `node` like n8n's ActiveWorkflows does; returns its answer (null = nothing new). */
export async function runPoll(node: INode, options: PollOptions): Promise<INodeExecutionData[][] | null> {
	const { core } = loadEngine();
	const nodeTypes = new TestNodeTypes({ [node.type]: options.nodeType });
	const credentials = (options.credentials ?? []).map((c) => ({ ...c, data: deepCopy(c.data) }));
	const nodes = [deepCopy(node)];
	for (const { name: credType } of options.nodeType.description.credentials ?? []) {
		const cred = credentials.find((c) => c.type === credType);
		if (cred && !nodes[0].credentials?.[credType]) nodes[0].credentials = { ...nodes[0].credentials, [credType]: { id: cred.id ?? `${credType}-test-id`, name: cred.name ?? credType } };
	}
	const workflow = new Workflow({ id: 'test-workflow', name: 'Poll test', nodes, connections: {}, active: true, nodeTypes, settings: { executionOrder: 'v1' }, staticData: options.staticData });
	const additionalData = { credentialsHelper: new TestCredentialsHelper(credentials, core), variables: {}, restApiUrl: 'http://localhost:5678/rest', instanceBaseUrl: 'http://localhost:5678/', webhookBaseUrl: '', webhookWaitingBaseUrl: '', webhookTestBaseUrl: '', formWaitingBaseUrl: '', currentNodeExecutionIndex: 0 } as unknown as IWorkflowExecuteAdditionalData;
	const ctx = new core.PollContext(workflow, workflow.getNode(node.name) as INode, additionalData, options.mode ?? 'trigger', 'activate');
	const poll = options.nodeType.poll;
	if (!poll) throw new Error(`[n8nEngine] ${node.type} has no poll()`);
	return await poll.call(ctx);
}
