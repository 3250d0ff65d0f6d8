/**
 * Webhook description fields that n8n ≥ 2.x resolves without its expression engine.
 *
 * A webhook description derives `path`, `responseMode`, … from the node's parameters through
 * expression templates (`={{$parameter["path"]}}`). Under n8n 2.x's default expression engine each
 * of them is evaluated in a V8 isolate on every webhook request. n8n's own Webhook node declares, for
 * each field, a plain function of the parameters next to the template, under the registry symbol
 * `n8n.webhookDescriptionResolvers` (n8n-workflow `webhookDescriptionFields`, `WEBHOOK_RESOLVERS`);
 * n8n then calls the function when the node's parameters hold no expression, and the template
 * otherwise (and older n8n versions, which do not know the symbol, always use the template). This
 * declares ours the same way. Each function must compute exactly what its template computes:
 * test/unit/webhookFields.test.ts evaluates both with n8n's expression engine.
 */
import type { IDataObject } from 'n8n-workflow';

/** n8n-workflow's `WEBHOOK_RESOLVERS` (a `Symbol.for`, so the same symbol without importing n8n-workflow ≥ 2). */
export const WEBHOOK_RESOLVERS = Symbol.for('n8n.webhookDescriptionResolvers');

export interface NativeField {
	template: string;
	resolve: (parameters: IDataObject) => unknown;
}

/** Spreads into an IWebhookDescription: the templates, plus the resolvers under WEBHOOK_RESOLVERS. */
export function nativeWebhookFields<K extends string>(fields: Record<K, NativeField>): Record<K, string> {
	const templates = {} as Record<K, string>;
	for (const [name, f] of Object.entries(fields) as Array<[K, NativeField]>) templates[name] = f.template;
	return Object.assign(templates, { [WEBHOOK_RESOLVERS]: fields });
}

