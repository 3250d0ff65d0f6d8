/**
 * The one item runner every node uses: opens what the execution needs once (the key store, …),
 * runs one function per input item, ties each output item to its input (`pairedItem`), maps errors
 * with the item index (errors.ts) and honours On Error → Continue in one place.
 */
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { LinkSettings } from '../core/delivery/link';
import type { Actor, KeyStore } from '../core/store';
import { toNodeError } from './errors';
import { actorOf, storeAndLinksFor } from './store';

/** Adds an output item for the current input item (pairedItem is set by the runner). */
export type Emit = (output: number, json: IDataObject, binary?: IBinaryKeyData) => void;

/** Under On Error → Continue: the output and item a failed input item becomes. */
export type Failed = (itemIndex: number, message: string, error: unknown) => { output: number; json: IDataObject };

export interface RunSpec<S> {
	/** Number of outputs of the node. */
	outputs: number;
	/** Opened once per execution before the first item. If it fails, every item fails with that error. */
	setup: () => Promise<S>;
	/** Under On Error → Continue: the output and item a failed input item becomes. */
	failed: Failed;
	/** Under On Error → Continue, when `setup` failed: what each input item becomes. Default: `failed`. */
	setupFailed?: Failed;
	/** Only the first input item (nodes that act once per execution, like a schedule check). */
	once?: boolean;
}

/** What one operation does for one input item; called with the node's `this` (n8n's `*.operation.ts` `execute`). */
export type ItemExecute<S> = (this: IExecuteFunctions, itemIndex: number, setup: S, emit: Emit) => Promise<void>;

/** One operation of a node (`actions/…/<operation>.operation.ts`): its own parameters and its `execute`. */
export interface Operation<S> {
	description: INodeProperties[];
	execute: ItemExecute<S>;
}

/** The setup of the nodes that work on the key store: the store of the node's credential and who is acting. */
export interface StoreSetup {
	store: KeyStore;
	actor: Actor;
	/** The credential's delivery-page settings; null when it has no Delivery Page URL. */
	links: LinkSettings | null;
}

export async function openStore(ctx: IExecuteFunctions): Promise<StoreSetup> {
	const { store, links } = await storeAndLinksFor(ctx);
	return { store, links, actor: actorOf(ctx) };
}

/** The item with `deliveryLink` (the order's signed delivery-page link) when the credential has a Delivery Page URL. */
export function withDeliveryLink<T extends { orderId: string; shop: string | null }>(setup: StoreSetup, item: T): T & { deliveryLink?: string } {
	return setup.links ? { ...item, deliveryLink: setup.store.deliveryLink(setup.links, item) } : item;
}

/**
 * A `setupFailed` for nodes whose items, when the setup failed, are their failed items with the
 * message of the error itself rather than of its mapping (errors.ts).
 */
export function ownMessage(failed: Failed): Failed {
	return (itemIndex, _message, error) => failed(itemIndex, (error as Error).message, error);
}

export async function runItems<S>(
	ctx: IExecuteFunctions,
	spec: RunSpec<S>,
	each: (itemIndex: number, setup: S, emit: Emit) => Promise<void>,
): Promise<INodeExecutionData[][]> {
	const count = spec.once ? 1 : ctx.getInputData().length;
	const outputs: INodeExecutionData[][] = Array.from({ length: spec.outputs }, () => []);
	const fail = (i: number, error: unknown, failed: Failed): void => {
		const nodeError = toNodeError(ctx.getNode(), error, i);
		if (!ctx.continueOnFail()) throw nodeError;
		const f = failed(i, nodeError.message, error);
		outputs[f.output].push({ json: f.json, pairedItem: { item: i } });
	};

	let setup: S;
	try {
		setup = await spec.setup();
	} catch (error) {
		for (let i = 0; i < count; i++) fail(i, error, spec.setupFailed ?? spec.failed);
		return outputs;
	}
	for (let i = 0; i < count; i++) {
		const emit: Emit = (output, json, binary) => outputs[output].push(binary ? { json, binary, pairedItem: { item: i } } : { json, pairedItem: { item: i } });
		try {
			await each(i, setup, emit);
		} catch (error) {
			fail(i, error, spec.failed);
		}
	}
	return outputs;
}

/**
 * A node's `actions/router.ts` in one call: runs, for every item, the operation that the node's
 * `operation` parameter names. `spec` gets that name; an unknown one fails each item with `unknown`.
 */
export async function runOperation<S>(
	ctx: IExecuteFunctions,
	operations: Record<string, Operation<S>>,
	spec: (operation: string) => RunSpec<S>,
	unknown: (operation: string, itemIndex: number) => Error,
): Promise<INodeExecutionData[][]> {
	const operation = ctx.getNodeParameter('operation', 0) as string;
	const op = Object.prototype.hasOwnProperty.call(operations, operation) ? operations[operation] : undefined;
	return await runItems(ctx, spec(operation), async (i, setup, emit) => {
		if (!op) throw unknown(operation, i);
		await op.execute.call(ctx, i, setup, emit);
	});
}
