/**
 * The one mapping from core errors to n8n errors, for every node: a message a seller understands,
 * the item index, and a description of what was (not) recorded. Shop Webhook's configuration
 * errors are made here too.
 */
import { NodeApiError, NodeOperationError, WorkflowConfigurationError, type INode, type JsonObject } from 'n8n-workflow';

import { DelayNoticeError, FollowUpError, NotifyError, ShipError } from '../core/delivery';
import { StoreError, ValidationError } from '../core/errors';
import { WebhookConfigError } from '../core/intake';

export type NodeError = NodeOperationError | NodeApiError;

/** n8n rewrites messages containing common error codes (ECONNREFUSED, …) to generic ones; keep ours. */
function keepMessage<T extends Error>(error: T, message: string): T {
	error.message = message;
	return error;
}

function notifyError(node: INode, err: NotifyError, itemIndex: number): NodeError {
	const where = err.delivery ? `delivery ${err.delivery.id} (order ${err.delivery.orderId}, SKU ${err.delivery.sku})` : 'the delivery';
	if (err.code === 'send_failed') {
		const description = `Recorded as send_failed on ${where}; it was not marked sent and can be sent again (Send, or Resend). ${
			err.detail.transient ? 'The server reported a temporary problem: retrying later may work.' : ''
		}`.trim();
		const e = new NodeApiError(node, { message: err.message, code: err.code } as JsonObject, {
			message: err.message,
			description,
			itemIndex,
			httpCode: err.detail.httpStatus ? String(err.detail.httpStatus) : undefined,
		});
		return keepMessage(e, err.message);
	}
	return keepMessage(new NodeOperationError(node, err.message, { itemIndex, description: err.code === 'busy' ? `Nothing was recorded for ${where}.` : undefined }), err.message);
}

function shipError(node: INode, err: ShipError, itemIndex: number): NodeError {
	return new NodeApiError(node, { message: err.message, httpCode: err.status === null ? null : String(err.status) } as JsonObject, {
		message: err.message,
		description:
			err.status !== null && err.status < 500
				? 'The shop refused the request (not retried). The failure is recorded on the delivery (ship_failed); it stays "sent" and can be shipped again once the request is fixed.'
				: 'The failure is recorded on the delivery (ship_failed); it stays "sent" and can be shipped again later.',
		httpCode: err.status === null ? undefined : String(err.status),
		itemIndex,
	});
}

/** Maps any error thrown while working on item `itemIndex` to the n8n error shown to the seller. */
export function toNodeError(node: INode, err: unknown, itemIndex: number): NodeError {
	if (err instanceof NodeOperationError || err instanceof NodeApiError) return err;
	if (err instanceof NotifyError) return notifyError(node, err, itemIndex);
	if (err instanceof FollowUpError) {
		const description = `Recorded as follow_up_failed on delivery ${err.delivery.id}. A follow-up is never sent twice, so this one is not retried; the run stopped here and the other due follow-ups go out with the next run.`;
		return keepMessage(new NodeApiError(node, { message: err.message, code: err.code } as JsonObject, { message: err.message, description, itemIndex, httpCode: err.detail.httpStatus ? String(err.detail.httpStatus) : undefined }), err.message);
	}
	if (err instanceof DelayNoticeError) {
		const e = new NodeApiError(node, { message: err.message, code: err.code } as JsonObject, {
			message: err.message,
			description: `Recorded as failed: a later Send Delay Notice for this order may try again (it is sent at most once). ${err.detail.transient ? 'The server reported a temporary problem.' : ''}`.trim(),
			itemIndex,
			httpCode: err.detail.httpStatus ? String(err.detail.httpStatus) : undefined,
		});
		return keepMessage(e, err.message);
	}
	if (err instanceof ShipError && err.code === 'ship_failed') return shipError(node, err, itemIndex);
	if (err instanceof ValidationError) {
		return keepMessage(new NodeOperationError(node, err.message, { itemIndex, description: `Field: ${err.field}. Nothing was changed.` }), err.message);
	}
	if (err instanceof StoreError) return keepMessage(new NodeOperationError(node, err.message, { itemIndex }), err.message);
	return new NodeOperationError(node, `Key store error: ${(err as Error)?.message ?? String(err)}`, { itemIndex });
}

/** A mistake in the workflow's configuration, with its fix (its message reaches the caller); older n8n lacks WorkflowConfigurationError. */
export function configError(node: INode, message: string, description: string): NodeOperationError {
	return typeof WorkflowConfigurationError === 'function'
		? new WorkflowConfigurationError(node, message, { description })
		: new NodeOperationError(node, message, { description });
}

/**
 * Shop Webhook's settings cannot be used. A configuration problem, not the caller's: n8n answers 500
 * (the shop retries later) and records a failed execution with this message. Never contains the secret.
 */
export function webhookSettingsError(node: INode, err: unknown): NodeOperationError {
	return err instanceof WebhookConfigError
		? new NodeOperationError(node, err.message, {
				description: 'Shop Webhook is misconfigured; calls are answered 500 and no order is processed until this is fixed.',
			})
		: new NodeOperationError(node, err as Error);
}
