/**
 * The tool variant n8n makes of a `usableAsTool` node, for the in-process engine (n8n-core's
 * `getInputConnectionData` then wraps it with `createNodeAsTool`, exactly as in n8n).
 *
 * Follows n8n 2.41.1 `packages/cli/src/tool-generation/ai-tools.ts` (`createAiTools`,
 * `convertNodeToAiTool`): the description's `usableAsTool.replacements` applied, name + 'Tool',
 * no inputs, one `ai_tool` output, displayName + ' Tool', and the Tool Description parameters
 * (`descriptionType` auto/manual for nodes with a resource or an operation, then `toolDescription`
 * defaulting to the node's description) inserted after the last callout. The e2e test checks that
 * the real n8n 2.41.1 lists these variants for our nodes.
 */
import type { INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, deepCopy } from 'n8n-workflow';

export function asAiTool(nodeType: INodeType): INodeType {
	const original = nodeType.description;
	const usable = original.usableAsTool;
	if (!usable) throw new Error(`${original.name} is not usableAsTool`);
	const description: INodeTypeDescription = {
		...deepCopy(original),
		...(typeof usable === 'object' ? (usable.replacements as Partial<INodeTypeDescription>) : {}),
	};
	description.name += 'Tool';
	description.inputs = [];
	description.outputs = [NodeConnectionTypes.AiTool];
	description.displayName += ' Tool';
	delete description.usableAsTool;
	const names = description.properties.map((p) => p.name);
	if (!names.includes('toolDescription')) {
		let lastCallout = -1;
		description.properties.forEach((p, i) => {
			if (p.type === 'callout') lastCallout = i;
		});
		const descProp: INodeProperties = {
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: description.description,
			required: true,
			typeOptions: { rows: 2 },
			description: 'Explain to the LLM what this tool does',
		};
		description.properties.splice(lastCallout + 1, 0, descProp);
		if (names.includes('resource') || names.includes('operation')) {
			description.properties.splice(lastCallout + 1, 0, {
				displayName: 'Tool Description',
				name: 'descriptionType',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Set Automatically', value: 'auto', description: 'Automatically set based on resource and operation' },
					{ name: 'Set Manually', value: 'manual', description: 'Manually set the description' },
				],
				default: 'auto',
			});
			descProp.displayOptions = { show: { descriptionType: ['manual'] } };
		}
	}
	// Same instance methods (execute, credential tests, …) under the new description.
	return Object.assign(Object.create(Object.getPrototypeOf(nodeType) as object) as INodeType, nodeType, { description });
}
