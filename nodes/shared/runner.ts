/**
 * The one item runner every node uses: opens what the execution needs once (the key store, …),
 * runs one function per input item, ties each output item to its input (`pairedItem`), maps errors
 * with the item index (errors.ts) and honours On Error → Continue in one place.
 */
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { toNodeError } from './errors';

/** Adds an output item for the current input item (pairedItem is set by the runner). */
export type Emit = (output: number, json: IDataObject, binary?: IBinaryKeyData) => void;

export interface RunSpec<S> {
	/** Number of outputs of the node. */
	outputs: number;
	/** Opened once per execution before the first item. If it fails, every item fails with that error. */
	setup: () => Promise<S>;
	/** Under On Error → Continue: the output and item a failed input item becomes. */
	failed: (itemIndex: number, message: string, error: unknown) => { output: number; json: IDataObject };
	/** Only the first input item (nodes that act once per execution, like a schedule check). */
	once?: boolean;
}

export async function runItems<S>(
	ctx: IExecuteFunctions,
	spec: RunSpec<S>,
	each: (itemIndex: number, setup: S, emit: Emit) => Promise<void>,
): Promise<INodeExecutionData[][]> {
	const count = spec.once ? 1 : ctx.getInputData().length;
	const outputs: INodeExecutionData[][] = Array.from({ length: spec.outputs }, () => []);
	const fail = (i: number, error: unknown): void => {
		const nodeError = toNodeError(ctx.getNode(), error, i);
		if (!ctx.continueOnFail()) throw nodeError;
		const f = spec.failed(i, nodeError.message, error);
		outputs[f.output].push({ json: f.json, pairedItem: { item: i } });
	};

	let setup: S;
	try {
		setup = await spec.setup();
	} catch (error) {
		for (let i = 0; i < count; i++) fail(i, error);
		return outputs;
	}
	for (let i = 0; i < count; i++) {
		const emit: Emit = (output, json, binary) => outputs[output].push(binary ? { json, binary, pairedItem: { item: i } } : { json, pairedItem: { item: i } });
		try {
			await each(i, setup, emit);
		} catch (error) {
			fail(i, error);
		}
	}
	return outputs;
}
