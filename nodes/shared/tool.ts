/**
 * Our nodes as tools of n8n's AI Agent. n8n turns every `usableAsTool` node into a tool variant
 * named `<package>.<node>Tool` (n8n 2.41.1 `packages/cli/src/tool-generation/ai-tools.ts`,
 * `convertNodeToAiTool`): the agent fills the parameters marked `$fromAI(…)` and gets the node's
 * output back as the tool's answer — text that goes to a language model provider and into its
 * context. Keys therefore never leave a node in plain text when it runs as a tool, whatever
 * *Include Keys in Output* says.
 */
import type { INode } from 'n8n-workflow';

/** The node runs as an AI agent's tool (its type is n8n's generated `…Tool` variant). */
export function runsAsTool(ctx: { getNode(): INode }): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

/** *Include Keys in Output* as set — and always off for an AI agent's tool. */
export function includeKeys(ctx: { getNode(): INode; getNodeParameter(name: string, itemIndex: number, fallback?: unknown): unknown }, itemIndex: number): boolean {
	if (runsAsTool(ctx)) return false;
	return ctx.getNodeParameter('includeKeys', itemIndex, false) === true;
}
