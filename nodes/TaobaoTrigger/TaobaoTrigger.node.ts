import { NodeApiError, NodeConnectionTypes, NodeOperationError, type ICredentialDataDecryptedObject, type IDataObject, type INode, type INodeExecutionData, type INodeType, type INodeTypeDescription, type IPollFunctions, type JsonObject } from 'n8n-workflow';

import { ValidationError } from '../core/errors';
import { webhookItems } from '../core/intake';
import { TopApiError, pollTaobao, taobaoShop, type TaobaoEmit, type TaobaoEvent, type TaobaoSkuFrom, type TaobaoStaticData, type TopTarget } from '../core/taobao';
import { SHOP_API_CREDENTIAL, platformTargetFromCredentials, testShopApiCredential } from '../shared/shopApi';
import { properties } from './description';

/**
 * Taobao Trigger: a polling trigger (n8n `polling: true`; n8n calls `poll` on the schedule the seller
 * sets) that asks the TOP router for paid trades and refunds and emits canonical orders. The
 * cursor is the workflow's static data (per node); core/taobao/poll.ts explains why nothing is lost
 * or emitted twice. Returning the items is the hand-off: n8n starts the workflow with them and
 * saves the static data.
 */
export class TaobaoTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Taobao Trigger',
		name: 'taobaoTrigger',
		icon: { light: 'file:taobaoTrigger.svg', dark: 'file:taobaoTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Polls a Taobao / Tmall shop (TOP) for paid orders and refunds and starts the workflow with canonical orders, one item per order line',
		defaults: { name: 'Taobao Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'autoDeliveryShopApi', required: true, testedBy: 'autoDeliveryShopApiTest' }],
		properties,
	};

	methods = {
		credentialTest: { autoDeliveryShopApiTest: testShopApiCredential },
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const node = this.getNode();
		let target: TopTarget;
		let shop: string;
		const events = this.getNodeParameter('events', []) as TaobaoEvent[];
		const skuFrom = this.getNodeParameter('skuFrom', 'outer_sku_id') as TaobaoSkuFrom;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		try {
			shop = taobaoShop(this.getNodeParameter('shopName', '') as string);
			const credentials = await this.getCredentials<ICredentialDataDecryptedObject>(SHOP_API_CREDENTIAL);
			target = platformTargetFromCredentials(credentials, 'taobao') as TopTarget;
		} catch (err) {
			throw configFailure(node, err);
		}
		const manual = this.getMode() === 'manual';
		// a manual test reads the look-back period without moving the cursor of the active workflow
		const data: TaobaoStaticData = manual ? {} : (this.getWorkflowStaticData('node') as TaobaoStaticData);
		const minutes = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d) * 60_000;
		let result;
		try {
			result = await pollTaobao(data, {
				target,
				shop,
				skuFrom,
				events,
				pageSize: typeof options.pageSize === 'number' ? options.pageSize : undefined,
				overlapMs: minutes(options.overlapMinutes, 5),
				settleMs: (typeof options.settleSeconds === 'number' && options.settleSeconds >= 0 ? options.settleSeconds : 60) * 1000,
				lookBackMs: minutes(options.lookBackMinutes, 60),
				call: { timeoutMs: typeof options.timeoutMs === 'number' ? options.timeoutMs : undefined, retries: typeof options.retries === 'number' ? options.retries : undefined },
			});
		} catch (err) {
			throw configFailure(node, err);
		}
		for (const p of result.problems) this.logger.warn(`Taobao Trigger: ${p}`);
		const items = result.emit.flatMap(toItems);
		if (result.error) {
			const e = pollError(this, result.error);
			// orders before the failure were read and their cursor moved: emit them, the error is logged and comes back next poll
			if (items.length === 0) throw e;
			this.logger.warn(`Taobao Trigger: ${e.message}`);
		}
		if (items.length === 0) return null;
		return [items];
	}
}

/** A parameter or credential that cannot be used (nothing was polled). */
function configFailure(node: INode, err: unknown): NodeOperationError {
	if (err instanceof ValidationError) return new NodeOperationError(node, err.message, { description: `Field: ${err.field}. Nothing was polled.` });
	return new NodeOperationError(node, (err as Error)?.message ?? String(err), { description: 'Nothing was polled.' });
}

function pollError(ctx: IPollFunctions, err: unknown): NodeApiError | NodeOperationError {
	if (err instanceof TopApiError) {
		const description =
			err.kind === 'session'
				? 'Nothing was read; the cursor did not move, so no order is lost: the next poll after the Session Key is updated reads them.'
				: err.retryable
					? 'Nothing after the last complete window was read; the cursor did not move and the next poll reads it again.'
					: 'Nothing was read; the cursor did not move.';
		const e = new NodeApiError(ctx.getNode(), { message: err.message, code: err.code ?? err.kind } as JsonObject, { message: err.message, description, httpCode: err.status === null ? undefined : String(err.status) });
		e.message = err.message;
		return e;
	}
	return new NodeOperationError(ctx.getNode(), (err as Error)?.message ?? String(err));
}

/** The items of one emitted order: Shop Webhook's one-per-line items (or the refund item), plus `taobao` (tid, oids / refund ids). */
function toItems(e: TaobaoEmit): INodeExecutionData[] {
	if (e.kind === 'refunded') {
		return webhookItems(e.order).map((json) => ({ json: { ...json, taobao: { tid: e.tid, refundIds: e.refundIds } } as unknown as IDataObject }));
	}
	return webhookItems(e.order, 'line').map((json) => {
		const sku = 'sku' in json ? json.sku : '';
		const oids = e.lines.find((l) => l.sku === sku)?.oids.map((o) => o.oid) ?? [];
		return { json: { ...json, taobao: { tid: e.tid, oids } } as unknown as IDataObject };
	});
}
