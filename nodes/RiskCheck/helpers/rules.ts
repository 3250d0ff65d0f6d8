/** Reads the rules of Risk Check → Evaluate (parameters in actions/evaluate.operation.ts) for one item. */
import type { IExecuteFunctions } from 'n8n-workflow';

import type { RateRule, RiskAction, RiskRules } from '../../core/risk';

/** A limit of 0 or empty turns its rule off. */
function limit(v: unknown): number | null {
	if (v === undefined || v === null || v === '') return null;
	const n = Number(v);
	return n === 0 ? null : n;
}

export function readRules(ctx: IExecuteFunctions, i: number): RiskRules {
	const rate = (key: 'Buyer' | 'Email' | 'Ip'): RateRule | null => {
		const max = limit(ctx.getNodeParameter(`maxOrdersPer${key}`, i, 0));
		if (max === null) return null;
		return {
			max,
			windowMinutes: ctx.getNodeParameter(`windowPer${key}`, i, 1440) as number,
			action: ctx.getNodeParameter(`actionPer${key}`, i, 'reject') as RiskAction,
		};
	};
	const maxQuantity = limit(ctx.getNodeParameter('maxQuantity', i, 0));
	const threshold = limit(ctx.getNodeParameter('amountThreshold', i, 0));
	return {
		blocklist: ctx.getNodeParameter('checkBlocklist', i, true) ? { action: ctx.getNodeParameter('blocklistAction', i, 'reject') as RiskAction } : null,
		perBuyer: rate('Buyer'),
		perEmail: rate('Email'),
		perIp: rate('Ip'),
		maxQuantity: maxQuantity === null ? null : { max: maxQuantity, action: ctx.getNodeParameter('maxQuantityAction', i, 'reject') as RiskAction },
		amount: threshold === null ? null : { threshold, action: ctx.getNodeParameter('amountAction', i, 'review') as RiskAction },
	};
}
