/** Send Follow-Up for one input item: take the due follow-ups and send each (nodes/core/delivery/followUp.ts). */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { deliveryLine, runFollowUps, type FollowUpResult } from '../../core/delivery';
import { toNodeError } from '../../shared/errors';
import type { Emit } from '../../shared/runner';
import { channelFor } from './channel';
import type { NotifySetup } from './interfaces';

/** One output item per follow-up: the delivery (never its keys) and what happened. */
export function followUpItem(r: FollowUpResult): IDataObject {
	const d = r.delivery;
	const followUp: IDataObject = { ...r.followUp };
	if (r.message) followUp.message = r.message;
	return {
		...deliveryLine(d),
		sentAt: d.sentAt,
		buyer: { id: d.buyer.id, name: d.buyer.name, email: d.buyer.email },
		followUp,
	};
}

export async function followUpItems(ctx: IExecuteFunctions, i: number, setup: NotifySetup, emit: Emit): Promise<void> {
	const kind = ctx.getNodeParameter('channel', i) as 'email' | 'webhook';
	const options = ctx.getNodeParameter('options', i, {}) as IDataObject;
	const channel = await channelFor(ctx, i, kind, options, setup, {
		to: null,
		subject: 'followUpSubject',
		text: 'followUpText',
		html: 'followUpHtml',
		body: 'followUpJsonBody',
	});
	let failure: FollowUpResult | null = null;
	await runFollowUps(
		setup.store,
		{
			channel,
			limit: ctx.getNodeParameter('followUpLimit', i, 50) as number,
			maxLateHours: ctx.getNodeParameter('followUpMaxLateHours', i, 168) as number,
			timeZone: (options.timeZone as string) || null,
			actor: setup.actor,
		},
		(r) => {
			if (r.outcome === 'failed') failure = r;
			else emit(0, followUpItem(r));
		},
	);
	const failed = failure as FollowUpResult | null;
	if (failed) {
		// Recorded as follow_up_failed and never sent again; the run stopped here (the others stay due).
		const nodeError = toNodeError(ctx.getNode(), failed.error, i);
		if (!ctx.continueOnFail()) throw nodeError;
		emit(0, followUpItem(failed));
	}
}
